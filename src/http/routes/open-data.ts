// Open data in OCDS 1.1, free and without a session: the release feed, single releases, records
// and a gzipped JSON Lines export of every record.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { UppError } from '../../domain/errors.js';
import {
  compileRecord,
  exportJsonLines,
  recordPackage,
  releaseById,
  releasePackage,
  releasesAfter,
} from '../../services/ocds.js';
import { problemResponses } from '../schemas.js';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

/** A package is an OCDS document: every field the schema allows goes out as built. */
const ocdsPackage = (description: string) =>
  ({ type: 'object', additionalProperties: true, description }) as const;

const feedQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cursor: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
  },
} as const;

const releaseParams = {
  type: 'object',
  required: ['releaseId'],
  properties: {
    releaseId: { type: 'string', minLength: 1, maxLength: 160, pattern: '^[A-Za-z0-9._:-]+$' },
  },
} as const;

const ocidParams = {
  type: 'object',
  required: ['ocid'],
  properties: {
    ocid: {
      type: 'string',
      minLength: 1,
      maxLength: 120,
      pattern: '^ocds-[a-z0-9]{6}-[A-Za-z0-9._-]+$',
    },
  },
} as const;

export async function openDataRoutes(app: FastifyInstance): Promise<void> {
  const base = () => app.ctx.config.publicBaseUrl;
  const feedUrl = (cursor: string | undefined, limit: number) => {
    const query = new URLSearchParams({ ...(cursor === undefined ? {} : { cursor }) });
    if (limit !== DEFAULT_LIMIT) query.set('limit', String(limit));
    const text = query.toString();
    return `${base()}/api/v1/open-data/releases${text === '' ? '' : `?${text}`}`;
  };
  const releaseUrl = (id: string) => `${base()}/api/v1/open-data/releases/${id}`;

  app.get(
    '/open-data/releases',
    {
      schema: {
        tags: ['open-data'],
        summary: 'The release feed: every release in commit-safe order, a page at a time',
        description:
          'Follow links.next to read on and to poll: a page never passes a release whose ' +
          'transaction is still open, so a reader that follows next sees every release.',
        querystring: feedQuery,
        response: {
          200: ocdsPackage('an OCDS release package with links.next'),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { cursor, limit } = request.query as { cursor?: string; limit: number };
      const page = await releasesAfter(app.ctx.db, cursor, limit, { publicBaseUrl: base() });
      const meta = { uri: feedUrl(cursor, limit), now: app.ctx.clock.now(), publicBaseUrl: base() };
      return {
        ...releasePackage(meta, page.releases),
        links: { next: feedUrl(page.cursor, limit) },
      };
    },
  );

  app.get(
    '/open-data/releases/:releaseId',
    {
      schema: {
        tags: ['open-data'],
        summary: 'One release, in a release package',
        params: releaseParams,
        response: {
          200: ocdsPackage('an OCDS release package of one release'),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { releaseId } = request.params as { releaseId: string };
      const release = await releaseById(app.ctx.db, releaseId, { publicBaseUrl: base() });
      if (release === undefined) {
        throw new UppError('ocds.not_found', 404, `no release ${releaseId}`);
      }
      const meta = { uri: releaseUrl(releaseId), now: app.ctx.clock.now(), publicBaseUrl: base() };
      return releasePackage(meta, [release]);
    },
  );

  app.get(
    '/open-data/records/:ocid',
    {
      schema: {
        tags: ['open-data'],
        summary: 'The record of a procurement: its releases and the compiled release',
        params: ocidParams,
        response: { 200: ocdsPackage('an OCDS record package of one record'), ...problemResponses },
      },
    },
    async (request) => {
      const { ocid } = request.params as { ocid: string };
      const record = await compileRecord(app.ctx.db, ocid, { publicBaseUrl: base() });
      const uri = `${base()}/api/v1/open-data/records/${ocid}`;
      return recordPackage({ uri, now: app.ctx.clock.now(), publicBaseUrl: base() }, [record]);
    },
  );

  app.get(
    '/open-data/export.jsonl.gz',
    {
      schema: {
        tags: ['open-data'],
        summary: 'Every record, one compiled record per line (JSON Lines), gzipped',
        response: {
          200: { description: 'application/gzip: JSON Lines of OCDS records', type: 'string' },
        },
      },
      config: { rateLimit: { max: 10, timeWindow: 60_000 } },
    },
    async (request, reply) => {
      const day = app.ctx.clock.now().toISOString().slice(0, 10);
      const lines = exportJsonLines(app.ctx.db, { publicBaseUrl: base(), releaseUrl });
      const gzip = createGzip();
      pipeline(Readable.from(lines), gzip).catch((error: unknown) => {
        request.log.error({ err: error, event: 'ocds.export_failed' }, 'ocds.export_failed');
      });
      return reply
        .type('application/gzip')
        .header('content-disposition', `attachment; filename="upp-ocds-records-${day}.jsonl.gz"`)
        .header('cache-control', 'no-cache')
        .send(gzip);
    },
  );

  app.log.debug({ event: 'routes.registered', area: 'open-data' }, 'routes.registered');
}
