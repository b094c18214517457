// Routes of the procurements area; filled in by the procurements work.
import type { FastifyInstance } from 'fastify';

export async function procurementRoutes(app: FastifyInstance): Promise<void> {
  app.log.debug({ event: 'routes.registered', area: 'procurements' }, 'routes.registered');
}
