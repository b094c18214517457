// Operational routes: liveness, readiness (database reachable, migrations applied), metrics.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { currentVersion, loadMigrations } from '../../store/migrate.js';
import { sendProblem } from '../problem.js';

const operational = { rateLimit: false };

function tokenMatches(header: string | undefined, token: string): boolean {
  const offered = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return offered.length === expected.length && timingSafeEqual(offered, expected);
}

export const systemRoutes: FastifyPluginAsync<{ metrics: Registry }> = async (app, { metrics }) => {
  const latestMigration = loadMigrations().length;

  app.get(
    '/health',
    {
      config: operational,
      schema: {
        tags: ['system'],
        summary: 'The process is alive',
        response: {
          200: {
            type: 'object',
            required: ['status'],
            properties: { status: { type: 'string', const: 'ok' } },
          },
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      config: operational,
      schema: {
        tags: ['system'],
        summary: 'The database is reachable and every migration is applied',
        response: {
          200: {
            type: 'object',
            required: ['status', 'migration', 'driver'],
            properties: {
              status: { type: 'string', const: 'ready' },
              migration: { type: 'integer' },
              driver: { type: 'string', enum: ['pglite', 'pg'] },
              searchIndex: {
                type: 'object',
                description: 'the lot search index of this node (off: searches go to the database)',
                properties: {
                  state: { type: 'string', enum: ['off', 'idle', 'building', 'ready', 'stopped'] },
                  lots: { type: 'integer' },
                  prewritten: {
                    type: 'integer',
                    description: 'lots whose JSON in the default language is written ahead',
                  },
                },
              },
            },
          },
          503: { $ref: 'problem#' },
        },
      },
    },
    async (request, reply) => {
      const version = await currentVersion(app.ctx.db).catch(() => -1);
      if (version < 0) {
        return sendProblem(request, reply, 503, 'service.database_unreachable', 'no database');
      }
      if (version < latestMigration) {
        const detail = `migration ${version} of ${latestMigration} is applied`;
        return sendProblem(request, reply, 503, 'service.migrations_pending', detail);
      }
      return {
        status: 'ready' as const,
        migration: version,
        driver: app.ctx.db.driver,
        searchIndex: app.ctx.lotIndex?.status ?? { state: 'off', lots: 0 },
      };
    },
  );

  app.get(
    '/metrics',
    { config: operational, schema: { tags: ['system'], summary: 'Prometheus metrics' } },
    async (request, reply) => {
      const token = app.ctx.config.metricsToken;
      if (token !== undefined && !tokenMatches(request.headers.authorization, token)) {
        reply.header('www-authenticate', 'Bearer');
        return sendProblem(request, reply, 401, 'auth.required', 'metrics need the bearer token');
      }
      reply.type(metrics.contentType);
      return metrics.metrics();
    },
  );
};
