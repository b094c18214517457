// The tus 1.0 endpoint for resumable uploads: creation (with upload), HEAD, PATCH, termination,
// expiration and checksum. Bodies stream straight to disk; every request needs a live session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UppError } from '../../domain/errors.js';
import { blobStoreFor } from '../../files/blob-store.js';
import { UploadReceiver } from '../../files/receiver.js';
import type { UploadState } from '../../files/receiver.js';
import {
  CHECKSUM_ALGORITHMS,
  TUS_EXTENSIONS,
  TUS_VERSION,
  byteCount,
  parseUploadChecksum,
  parseUploadMetadata,
} from '../../files/tus-headers.js';
import { sendProblem } from '../problem.js';
import { requireSession } from '../session.js';

const PART_TYPE = 'application/offset+octet-stream';
const HOUR_MS = 60 * 60 * 1000;

interface UploadParams {
  id: string;
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64 } },
} as const;

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function isPart(request: FastifyRequest): boolean {
  const type = header(request, 'content-type') ?? '';
  return (type.split(';')[0] ?? '').trim().toLowerCase() === PART_TYPE;
}

/** The request body as a stream of bytes; only the scoped parser below yields one. */
function bodyOf(request: FastifyRequest): AsyncIterable<Uint8Array> {
  if (!isPart(request)) {
    throw new UppError('upload.bad_content_type', 415, `send parts as ${PART_TYPE}`);
  }
  return (request.body ?? noBytes()) as AsyncIterable<Uint8Array>;
}

async function* noBytes(): AsyncIterable<Uint8Array> {}

function encodeMetadata(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

function sendState(reply: FastifyReply, state: UploadState): void {
  reply.header('upload-offset', String(state.offset));
  if (state.expiresAt !== undefined) reply.header('upload-expires', state.expiresAt.toUTCString());
  if (state.sha256 !== undefined) reply.header('upload-sha256', state.sha256);
}

export async function uploadRoutes(app: FastifyInstance): Promise<void> {
  const { config, db, clock } = app.ctx;
  const receiver = new UploadReceiver(db, {
    dataDir: config.dataDir,
    maxBytes: config.uploadMaxBytes,
    expiryMs: config.uploadExpiryHours * HOUR_MS,
    blobs: blobStoreFor(config),
    clock,
  });

  // The body is handed over unread, so a part streams to disk instead of into memory.
  app.addContentTypeParser(PART_TYPE, (_request, payload, done) => {
    done(null, payload);
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('tus-resumable', TUS_VERSION);
    if (request.method === 'OPTIONS') return;
    if (header(request, 'tus-resumable') !== TUS_VERSION) {
      reply.header('tus-version', TUS_VERSION);
      return sendProblem(
        request,
        reply,
        412,
        'upload.version_unsupported',
        `send Tus-Resumable: ${TUS_VERSION}`,
      );
    }
  });

  const tags = ['uploads'];

  app.options(
    '/uploads',
    { schema: { tags, summary: 'tus capabilities' } },
    async (request, reply) => {
      await requireSession(request);
      reply.header('tus-version', TUS_VERSION);
      reply.header('tus-extension', TUS_EXTENSIONS.join(','));
      reply.header('tus-max-size', String(receiver.maxBytes));
      reply.header('tus-checksum-algorithm', Object.keys(CHECKSUM_ALGORITHMS).join(','));
      return reply.code(204).send();
    },
  );

  app.post(
    '/uploads',
    {
      schema: {
        tags,
        summary: 'Create an upload (tus creation, creation-with-upload)',
        description:
          'Upload-Length is required; Upload-Metadata carries `filename` and `filetype`. A body ' +
          `of type ${PART_TYPE} is the first part.`,
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      if (header(request, 'upload-defer-length') !== undefined) {
        throw new UppError('upload.length_required', 400, 'deferred lengths are not supported');
      }
      const state = await receiver.create(session.userId, {
        length: byteCount(header(request, 'upload-length'), 'Upload-Length'),
        metadata: parseUploadMetadata(header(request, 'upload-metadata')),
      });
      reply.header('location', `${request.routeOptions.url ?? '/api/v1/uploads'}/${state.id}`);
      const declaredLength = byteCount(header(request, 'content-length'), 'Content-Length');
      const finalState =
        isPart(request) && declaredLength !== 0
          ? await receiver.append(session.userId, state.id, {
              offset: 0,
              declaredLength,
              body: bodyOf(request),
              checksum: parseUploadChecksum(header(request, 'upload-checksum')),
            })
          : state;
      sendState(reply, finalState);
      return reply.code(201).send();
    },
  );

  app.head<{ Params: UploadParams }>(
    '/uploads/:id',
    { schema: { tags, summary: 'Offset of an upload (tus HEAD)', params: idParams } },
    async (request, reply) => {
      const session = await requireSession(request);
      const state = await receiver.state(session.userId, request.params.id);
      sendState(reply, state);
      reply.header('upload-length', String(state.length));
      reply.header('upload-metadata', encodeMetadata(state.metadata));
      reply.header('cache-control', 'no-store');
      return reply.code(200).send();
    },
  );

  app.patch<{ Params: UploadParams }>(
    '/uploads/:id',
    {
      schema: {
        tags,
        summary: 'Send a part of at most 20 MiB (tus PATCH, checksum)',
        params: idParams,
      },
    },
    async (request, reply) => {
      const session = await requireSession(request);
      const offset = byteCount(header(request, 'upload-offset'), 'Upload-Offset');
      if (offset === undefined) {
        throw new UppError('upload.bad_header', 400, 'send Upload-Offset with each part');
      }
      const state = await receiver.append(session.userId, request.params.id, {
        offset,
        declaredLength: byteCount(header(request, 'content-length'), 'Content-Length'),
        body: bodyOf(request),
        checksum: parseUploadChecksum(header(request, 'upload-checksum')),
      });
      sendState(reply, state);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: UploadParams }>(
    '/uploads/:id',
    { schema: { tags, summary: 'End an upload and delete its bytes (tus termination)' } },
    async (request, reply) => {
      const session = await requireSession(request);
      await receiver.terminate(session.userId, request.params.id);
      return reply.code(204).send();
    },
  );
}
