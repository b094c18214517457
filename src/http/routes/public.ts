// Routes of the public area; filled in by the public work.
import type { FastifyInstance } from 'fastify';

export async function publicRoutes(app: FastifyInstance): Promise<void> {
  app.log.debug({ event: 'routes.registered', area: 'public' }, 'routes.registered');
}
