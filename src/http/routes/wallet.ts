// Routes of the wallet area; filled in by the wallet work.
import type { FastifyInstance } from 'fastify';

export async function walletRoutes(app: FastifyInstance): Promise<void> {
  app.log.debug({ event: 'routes.registered', area: 'wallet' }, 'routes.registered');
}
