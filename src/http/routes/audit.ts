// Public proof of the audit log: the latest hash and count, so outsiders can keep checkpoints and
// later show that history was not rewritten.
import type { FastifyPluginAsync } from 'fastify';
import { auditCheckpoint, auditContains, linkAudit } from '../../services/audit.js';

export const auditRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/public/audit/checkpoint',
    {
      schema: {
        tags: ['public'],
        summary: 'The latest audit-log hash and the number of entries it covers',
        response: {
          200: {
            type: 'object',
            required: ['count', 'hash', 'recordedAt', 'algorithm'],
            properties: {
              count: { type: 'integer', description: 'entries in the chain' },
              hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
              recordedAt: { type: ['string', 'null'], format: 'date-time' },
              algorithm: { type: 'string', const: 'sha256-jcs-chain' },
            },
          },
        },
      },
    },
    async (_request, reply) => {
      await linkAudit(app.ctx.db, true);
      const checkpoint = await auditCheckpoint(app.ctx.db);
      reply.header('cache-control', 'no-cache');
      return {
        count: checkpoint.count,
        hash: checkpoint.hash,
        recordedAt: checkpoint.recordedAt?.toISOString() ?? null,
        algorithm: 'sha256-jcs-chain' as const,
      };
    },
  );

  app.post(
    '/public/audit/checkpoint/verify',
    {
      schema: {
        tags: ['public'],
        summary: 'Whether the log still holds an entry whose hash you kept from a checkpoint',
        body: {
          type: 'object',
          required: ['count', 'hash'],
          additionalProperties: false,
          properties: {
            count: { type: 'integer', minimum: 1, maximum: 9_007_199_254_740_991 },
            hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['contained', 'count'],
            properties: {
              contained: { type: 'boolean' },
              count: { type: 'integer', description: 'entries in the chain now' },
            },
          },
          400: { $ref: 'problem#' },
        },
      },
    },
    async (request) => {
      await linkAudit(app.ctx.db, true);
      return auditContains(app.ctx.db, request.body as { count: number; hash: string });
    },
  );
};
