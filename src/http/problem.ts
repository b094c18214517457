// Errors as application/problem+json (RFC 9457) with a stable `code`, for every refusal the HTTP
// layer makes: the platform's own UppErrors, Fastify's request errors, 404, 405, 413, 415, 429.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isUppError } from '../domain/errors.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  instance: string;
  requestId: string;
  errors?: { path: string; message: string }[];
}

export const problemSchema = {
  $id: 'problem',
  type: 'object',
  description: 'An error (RFC 9457); `code` is stable and meant for programs.',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', examples: ['request.invalid'] },
    detail: { type: 'string' },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Fastify's own error codes, mapped to the platform's stable codes. */
const FASTIFY_CODES: Record<string, { status: number; code: string; detail?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'request.too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'request.unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'request.invalid_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'request.empty_body' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    code: 'request.malformed_json',
    detail: 'the body is not valid JSON',
  },
  FST_ERR_VALIDATION: { status: 400, code: 'request.invalid' },
  FST_ERR_BAD_URL: { status: 400, code: 'request.bad_url', detail: 'the URL is not well formed' },
};

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  errors?: Problem['errors'],
): FastifyReply {
  const problem: Problem = {
    type: `urn:upp:problem:${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    instance: request.url.split('?')[0] ?? request.url,
    requestId: request.id,
    ...(errors === undefined ? {} : { errors }),
  };
  return reply.code(status).type('application/problem+json; charset=utf-8').send(problem);
}

export function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isUppError(error)) {
    const retryAfter = error.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    if (error.status >= 500) request.log.error({ err: error, code: error.code }, 'request.failed');
    return sendProblem(request, reply, error.status, error.code, error.message);
  }
  if (error.validation !== undefined) {
    const errors = error.validation.map((issue) => ({
      path: `${error.validationContext ?? 'body'}${issue.instancePath}`,
      message: issue.message ?? 'is invalid',
    }));
    return sendProblem(request, reply, 400, 'request.invalid', 'the request is invalid', errors);
  }
  const known = FASTIFY_CODES[error.code];
  if (known !== undefined) {
    return sendProblem(request, reply, known.status, known.code, known.detail ?? error.message);
  }
  if (error.statusCode === 429) {
    return sendProblem(request, reply, 429, 'rate_limit.exceeded', error.message);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return sendProblem(request, reply, status, 'request.invalid', error.message);
  }
  request.log.error({ err: error }, 'request.failed');
  const detail = `an internal error occurred; quote request id ${request.id} to the operator`;
  return sendProblem(request, reply, 500, 'internal', detail);
}
