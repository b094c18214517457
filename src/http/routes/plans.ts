// Routes of the plans area; filled in by the plans work.
import type { FastifyInstance } from 'fastify';

export async function planRoutes(app: FastifyInstance): Promise<void> {
  app.log.debug({ event: 'routes.registered', area: 'plans' }, 'routes.registered');
}
