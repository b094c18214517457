// Routes of the open-data area; filled in by the open-data work.
import type { FastifyInstance } from 'fastify';

export async function openDataRoutes(app: FastifyInstance): Promise<void> {
  app.log.debug({ event: 'routes.registered', area: 'open-data' }, 'routes.registered');
}
