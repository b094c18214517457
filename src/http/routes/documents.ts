// Documents over HTTP: signing uploads or structured content into a document, its metadata and
// receipt, and file downloads (public ones free and cacheable, with ETag and Range).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { UppError } from '../../domain/errors.js';
import { blobStoreFor } from '../../files/blob-store.js';
import { sessionOf } from '../../services/auth.js';
import type { Session } from '../../services/auth.js';
import { readableDocument, signDocument } from '../../services/documents.js';
import { receiptOf } from '../../services/receipts.js';
import type { SignedRequest } from '../../services/signed-document.js';
import {
  idParams,
  nonceProperty,
  problemResponses,
  signedRequestSchema,
  uuidProperty,
} from '../schemas.js';
import { requireSession, tokenFrom } from '../session.js';
import { serviceContext } from '../context.js';

/** How long shared caches keep a public file: documents never change once signed. */
export const PUBLIC_MAX_AGE_SECONDS = 86_400;

/** Media types served as themselves; any other file is served as application/octet-stream. */
const SERVED_MEDIA_TYPES = new Set([
  'application/pdf',
  'application/zip',
  'application/x-7z-compressed',
  'application/vnd.rar',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'image/png',
  'image/jpeg',
  'image/tiff',
]);

/** Kazakh and Russian letters for the ASCII `filename` fallback of Content-Disposition. */
const TRANSLITERATION = new Map(
  (
    'а:a ә:a б:b в:v г:g ғ:g д:d е:e ё:e ж:zh з:z и:i й:i к:k қ:q л:l м:m н:n ң:n о:o ө:o ' +
    'п:p р:r с:s т:t у:u ұ:u ү:u ф:f х:kh һ:h ц:ts ч:ch ш:sh щ:shch ъ: ы:y і:i ь: э:e ю:yu я:ya'
  )
    .split(' ')
    .map((pair) => pair.split(':') as [string, string]),
);

function asciiFallback(name: string): string {
  const letters = [...name].map((char) => {
    const lower = char.toLowerCase();
    const latin = TRANSLITERATION.get(lower);
    if (latin === undefined) return /^[\x20-\x7e]$/.test(char) ? char : '_';
    return char === lower ? latin : latin.charAt(0).toUpperCase() + latin.slice(1);
  });
  return letters.join('').replace(/["\\%]/g, '_');
}

/** RFC 6266 with RFC 8187: the UTF-8 name percent-encoded, and an ASCII name for old clients. */
export function contentDisposition(name: string): string {
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${asciiFallback(name)}"; filename*=UTF-8''${encoded}`;
}

/** The one byte range asked for, `undefined` for the whole file, or 'invalid' (416). */
export function requestedRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) {
    // Several ranges are served as the whole file; other units are ignored (RFC 9110 14.2).
    return /^bytes=/.test(header.trim()) && !header.includes(',') ? 'invalid' : undefined;
  }
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return 'invalid';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'invalid';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || start > end) return 'invalid';
  return { start, end };
}

/** If-None-Match matches the ETag (weak comparison, as RFC 9110 asks for GET). */
function notModified(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

async function optionalSession(request: FastifyRequest): Promise<Session | undefined> {
  const token = tokenFrom(request);
  if (token === undefined) return undefined;
  return sessionOf(request.server.ctx.db, token, request.server.ctx.clock.now());
}

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

const signPayload = {
  type: 'object',
  required: [
    'action',
    'nonce',
    'form',
    'type',
    'titles',
    'language',
    'visibility',
    'participantId',
  ],
  additionalProperties: false,
  properties: {
    action: { type: 'string', const: 'document.sign' },
    nonce: nonceProperty,
    form: { type: 'string', enum: ['copy', 'structured'] },
    uploads: {
      type: 'array',
      minItems: 1,
      maxItems: 999,
      items: {
        type: 'object',
        required: ['uploadId', 'sha256', 'size', 'name'],
        additionalProperties: false,
        properties: {
          uploadId: uuidProperty,
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          size: { type: 'integer', minimum: 1 },
          name: text(255),
        },
      },
    },
    content: { type: 'object' },
    type: { type: 'string', pattern: '^[a-z][a-z0-9_.-]{0,63}$' },
    titles: {
      type: 'object',
      required: ['kk', 'ru', 'en'],
      additionalProperties: false,
      properties: { kk: text(500), ru: text(500), en: text(500) },
    },
    language: { type: 'string', enum: ['kk', 'ru', 'en'] },
    visibility: { type: 'string', enum: ['public', 'parties'] },
    participantId: uuidProperty,
  },
} as const;

const fileParams = {
  type: 'object',
  required: ['id', 'n'],
  properties: { id: uuidProperty, n: { type: 'integer', minimum: 1, maximum: 999 } },
} as const;

export const documentRoutes: FastifyPluginAsync = async (app) => {
  const ctx = () => serviceContext(app);
  const blobs = () => blobStoreFor({ dataDir: app.ctx.config.dataDir });

  app.post(
    '/documents',
    {
      schema: {
        tags: ['documents'],
        summary: 'Sign uploads (an electronic copy) or structured content into a document',
        body: signedRequestSchema(signPayload),
        response: {
          201: {
            type: 'object',
            properties: {
              documentId: { type: 'string' },
              receipt: { type: 'object', additionalProperties: true },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const result = await signDocument(ctx(), session, request.body as SignedRequest);
      return reply.code(201).send(result);
    },
  );

  app.get(
    '/documents/:id',
    {
      schema: {
        tags: ['documents'],
        summary: 'A document: type, titles, files (public, or for the parties only)',
        params: idParams,
        response: { 404: { $ref: 'problem#' } },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const document = await readableDocument(app.ctx.db, await optionalSession(request), id);
      reply.header(
        'cache-control',
        document.visibility === 'public' ? 'no-cache' : 'private, no-store',
      );
      return {
        ...document,
        files: document.files.map((file) => ({
          ...file,
          url: `/api/v1/documents/${id}/files/${file.position}`,
        })),
      };
    },
  );

  app.get(
    '/documents/:id/receipt',
    {
      schema: {
        tags: ['documents'],
        summary: 'The receipt (for the parties): signed, time-stamped; `upp verify` checks it',
        params: idParams,
        response: { 404: { $ref: 'problem#' } },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const session = await optionalSession(request);
      const document = await readableDocument(app.ctx.db, session, id, 'parties');
      const receipt = await receiptOf(app.ctx.db, document.id);
      if (receipt === undefined) {
        throw new UppError('document.not_found', 404, `no receipt for document ${id}`);
      }
      reply.header('content-disposition', contentDisposition(`receipt-${id}.json`));
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(receipt, null, 2));
    },
  );

  app.get(
    '/documents/:id/files/:n',
    {
      schema: {
        tags: ['documents'],
        summary: 'Download file n of a document (ETag, If-None-Match, Range)',
        params: fileParams,
        response: { 404: { $ref: 'problem#' }, 416: { $ref: 'problem#' } },
      },
    },
    async (request, reply) => sendFile(request, reply),
  );

  async function sendFile(request: FastifyRequest, reply: FastifyReply) {
    const { id, n } = request.params as { id: string; n: number };
    const document = await readableDocument(app.ctx.db, await optionalSession(request), id);
    const file = document.files.find((candidate) => candidate.position === n);
    if (file === undefined) {
      throw new UppError('document.not_found', 404, `document ${id} has no file ${n}`);
    }
    const etag = `"${file.sha256}"`;
    reply.header('etag', etag);
    reply.header('accept-ranges', 'bytes');
    reply.header('x-content-type-options', 'nosniff');
    reply.header(
      'cache-control',
      document.visibility === 'public'
        ? `public, max-age=${PUBLIC_MAX_AGE_SECONDS}, immutable`
        : 'private, no-cache',
    );
    if (document.visibility === 'parties') reply.header('vary', 'authorization, cookie');
    if (notModified(request, etag)) return reply.code(304).send();
    const ifRange = request.headers['if-range'];
    const rangeHeader =
      ifRange === undefined || ifRange === etag ? request.headers.range : undefined;
    const range = requestedRange(rangeHeader, file.size);
    if (range === 'invalid') {
      reply.header('content-range', `bytes */${file.size}`);
      throw new UppError('document.range_invalid', 416, `no such byte range of ${file.size} bytes`);
    }
    const mediaType =
      file.mediaType !== null && SERVED_MEDIA_TYPES.has(file.mediaType)
        ? file.mediaType
        : 'application/octet-stream';
    reply.header('content-disposition', contentDisposition(file.name));
    reply.type(mediaType);
    if (range === undefined) {
      reply.header('content-length', String(file.size));
      return reply.send(await blobs().open(file.sha256));
    }
    reply.code(206);
    reply.header('content-range', `bytes ${range.start}-${range.end}/${file.size}`);
    reply.header('content-length', String(range.end - range.start + 1));
    return reply.send(await blobs().open(file.sha256, range));
  }
};
