// The PKI endpoints `upp serve` publishes: the platform's RFC 3161 time-stamp authority and, when
// the demo CA exists, its CRLs, CA certificates and OCSP responder (addresses in its certificates).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DEMO_ALGORITHMS, DEMO_PATHS, demoCrl, demoOcspRespond } from '../../pki/demo-ca.js';
import { decodeBer, TAG } from '../../pki/ber.js';
import { PkiError } from '../../pki/errors.js';
import { ocspErrorResponse, parseOcspRequest } from '../../pki/ocsp.js';
import type { DemoCa } from '../../pki/demo-ca.js';
import type { PlatformPki } from '../../services/pki.js';
import { sendProblem } from '../problem.js';

/** Largest OCSP or time-stamp request accepted; real ones are a few hundred bytes. */
export const PKI_REQUEST_LIMIT_BYTES = 64 * 1024;

export const PKI_MEDIA_TYPES = {
  crl: 'application/pkix-crl',
  certificate: 'application/pkix-cert',
  ocspRequest: 'application/ocsp-request',
  ocspResponse: 'application/ocsp-response',
  timestampQuery: 'application/timestamp-query',
  timestampReply: 'application/timestamp-reply',
} as const;

function binary(mediaType: string, description: string) {
  return {
    description,
    content: { [mediaType]: { schema: { type: 'string', format: 'binary' } } },
  };
}

function binaryBody(mediaType: string, description: string) {
  return { content: { [mediaType]: { schema: { description } } } };
}

const problems = {
  400: { $ref: 'problem#' },
  413: { $ref: 'problem#' },
  415: { $ref: 'problem#' },
};

function send(reply: FastifyReply, mediaType: string, body: Uint8Array, cache: string) {
  return reply.type(mediaType).header('cache-control', cache).send(Buffer.from(body));
}

/** The body as bytes, or a 415 problem when the request is not of the one accepted type. */
function requestBytes(
  request: FastifyRequest,
  reply: FastifyReply,
  mediaType: string,
): Uint8Array | undefined {
  const declared = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (declared !== mediaType || !(request.body === undefined || Buffer.isBuffer(request.body))) {
    sendProblem(
      request,
      reply,
      415,
      'request.unsupported_media_type',
      `send the request as ${mediaType}`,
    );
    return undefined;
  }
  return request.body === undefined ? new Uint8Array(0) : new Uint8Array(request.body);
}

/** The DER request of an RFC 6960 GET: base64 (or base64url), percent-encoded, in the path. */
function ocspGetRequest(url: string): Uint8Array {
  const encoded = (url.split('?')[0] ?? '').slice(DEMO_PATHS.ocsp.length + 1);
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return new Uint8Array(0);
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return new Uint8Array(0);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

const CERT_ID_TAGS = [TAG.sequence, TAG.octetString, TAG.octetString, TAG.integer];

/** CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash, serial }. */
function wellFormedCertId(raw: Uint8Array): boolean {
  const fields = decodeBer(raw, 'ocsp.malformed').children;
  return fields.length === 4 && fields.every((field, i) => field.tag === CERT_ID_TAGS[i]);
}

/**
 * The demo responder's answer, or malformedRequest for a request it cannot answer soundly. The
 * responder echoes each CertID as sent: one with a hash this module does not know, or with
 * fields of the wrong type, would make a response that OCSP clients (this module's among them)
 * cannot read.
 */
function ocspAnswer(ca: DemoCa, request: Uint8Array): Uint8Array {
  try {
    const { certIds } = parseOcspRequest(request);
    const sound = certIds.every((id) => id.value !== undefined && wellFormedCertId(id.raw));
    if (certIds.length === 0 || !sound) return ocspErrorResponse('malformedRequest');
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return ocspErrorResponse('malformedRequest');
  }
  return demoOcspRespond(ca, request);
}

function demoRoutes(app: Parameters<FastifyPluginAsync>[0], ca: DemoCa): void {
  for (const algorithm of DEMO_ALGORITHMS) {
    app.get(
      DEMO_PATHS.crl(algorithm),
      {
        schema: {
          tags: ['pki'],
          summary: `CRL of the demo ${algorithm} issuing CA (DER, fresh for one day)`,
          produces: [PKI_MEDIA_TYPES.crl],
          response: { 200: binary(PKI_MEDIA_TYPES.crl, 'DER CertificateList') },
        },
      },
      async (_request, reply) =>
        send(reply, PKI_MEDIA_TYPES.crl, demoCrl(ca, algorithm), 'public, max-age=300'),
    );
    const certificates = [
      [DEMO_PATHS.caCertificate(algorithm), 'issuing CA', ca.cas[algorithm].issuing.der],
      [DEMO_PATHS.rootCertificate(algorithm), 'root', ca.cas[algorithm].root.der],
    ] as const;
    for (const [path, what, der] of certificates) {
      app.get(
        path,
        {
          schema: {
            tags: ['pki'],
            summary: `Certificate of the demo ${algorithm} ${what} (DER)`,
            produces: [PKI_MEDIA_TYPES.certificate],
            response: { 200: binary(PKI_MEDIA_TYPES.certificate, 'DER certificate') },
          },
        },
        async (_request, reply) =>
          send(reply, PKI_MEDIA_TYPES.certificate, der, 'public, max-age=86400'),
      );
    }
  }
  app.post(
    DEMO_PATHS.ocsp,
    {
      bodyLimit: PKI_REQUEST_LIMIT_BYTES,
      schema: {
        tags: ['pki'],
        summary: 'OCSP responder of the demo CAs (RFC 6960)',
        consumes: [PKI_MEDIA_TYPES.ocspRequest],
        produces: [PKI_MEDIA_TYPES.ocspResponse],
        body: binaryBody(PKI_MEDIA_TYPES.ocspRequest, 'DER OCSPRequest'),
        response: {
          200: binary(PKI_MEDIA_TYPES.ocspResponse, 'DER OCSPResponse (errors as its status)'),
          ...problems,
        },
      },
    },
    async (request, reply) => {
      const body = requestBytes(request, reply, PKI_MEDIA_TYPES.ocspRequest);
      if (body === undefined) return reply;
      return send(reply, PKI_MEDIA_TYPES.ocspResponse, ocspAnswer(ca, body), 'no-store');
    },
  );
  app.get(
    `${DEMO_PATHS.ocsp}/*`,
    {
      schema: {
        tags: ['pki'],
        summary: 'OCSP by GET: the base64 DER request, percent-encoded, as the last path segment',
        produces: [PKI_MEDIA_TYPES.ocspResponse],
        response: { 200: binary(PKI_MEDIA_TYPES.ocspResponse, 'DER OCSPResponse') },
      },
    },
    async (request, reply) =>
      send(
        reply,
        PKI_MEDIA_TYPES.ocspResponse,
        ocspAnswer(ca, ocspGetRequest(request.url)),
        'public, max-age=60',
      ),
  );
}

/**
 * Registers the PKI endpoints. Binary request types are parsed here only (the plugin's own
 * scope), with a 64 KiB limit.
 */
export const pkiRoutes: FastifyPluginAsync<{ pki: PlatformPki }> = async (app, options) => {
  const { pki } = options;
  app.addContentTypeParser(
    [PKI_MEDIA_TYPES.ocspRequest, PKI_MEDIA_TYPES.timestampQuery],
    { parseAs: 'buffer', bodyLimit: PKI_REQUEST_LIMIT_BYTES },
    (_request, body, done) => {
      done(null, body);
    },
  );
  if (pki.demoCa !== undefined) demoRoutes(app, pki.demoCa);
  app.post(
    DEMO_PATHS.tsa,
    {
      bodyLimit: PKI_REQUEST_LIMIT_BYTES,
      schema: {
        tags: ['pki'],
        summary: 'Time-stamp authority of the platform (RFC 3161)',
        consumes: [PKI_MEDIA_TYPES.timestampQuery],
        produces: [PKI_MEDIA_TYPES.timestampReply],
        body: binaryBody(PKI_MEDIA_TYPES.timestampQuery, 'DER TimeStampReq'),
        response: {
          200: binary(PKI_MEDIA_TYPES.timestampReply, 'DER TimeStampResp (refusals as status)'),
          ...problems,
        },
      },
    },
    async (request, reply) => {
      const body = requestBytes(request, reply, PKI_MEDIA_TYPES.timestampQuery);
      if (body === undefined) return reply;
      return send(reply, PKI_MEDIA_TYPES.timestampReply, pki.tsa.respond(body), 'no-store');
    },
  );
};
