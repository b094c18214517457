// Login with an authentication key (challenge and response), nonces for signed actions, and the
// user's sessions.
import type { FastifyPluginAsync } from 'fastify';
import {
  actFor,
  actionNonce,
  endSession,
  listSessions,
  login,
  loginChallenge,
} from '../../services/auth.js';
import type { AuthContext } from '../../services/auth.js';
import type { SignedRequest } from '../../services/signed-document.js';
import {
  doneResponses,
  nonceProperty,
  problemResponses,
  signedRequestSchema,
  uuidProperty,
} from '../schemas.js';
import { clearSessionCookie, requireSession, setSessionCookie } from '../session.js';

const sessionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    identity: { type: 'string' },
    iin: { type: ['string', 'null'] },
    fullName: { type: 'string' },
    administrator: { type: 'boolean' },
    actingParticipantId: { type: ['string', 'null'] },
    createdAt: { type: 'string', format: 'date-time' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
} as const;

const loginPayload = {
  type: 'object',
  required: ['action', 'nonce', 'audience'],
  additionalProperties: false,
  properties: {
    action: { type: 'string', const: 'auth.login' },
    nonce: nonceProperty,
    audience: { type: 'string', maxLength: 300 },
  },
} as const;

export const authRoutes: FastifyPluginAsync = async (app) => {
  const ctx = (): AuthContext => ({
    db: app.ctx.db,
    verifier: app.ctx.pki,
    clock: app.ctx.clock,
    audience: app.ctx.config.publicBaseUrl,
  });

  app.post(
    '/auth/challenge',
    {
      schema: {
        tags: ['auth'],
        summary: 'A single-use login challenge (valid 5 minutes) and the payload to sign',
        response: {
          200: {
            type: 'object',
            properties: {
              nonce: { type: 'string' },
              expiresAt: { type: 'string', format: 'date-time' },
              payload: loginPayload,
            },
          },
        },
      },
    },
    async () => loginChallenge(ctx()),
  );

  app.post(
    '/auth/nonce',
    {
      schema: {
        tags: ['auth'],
        summary: 'A single-use nonce (valid 5 minutes) to put into a signed payload',
        response: {
          200: {
            type: 'object',
            properties: {
              nonce: { type: 'string' },
              expiresAt: { type: 'string', format: 'date-time' },
            },
          },
        },
      },
    },
    async () => actionNonce(ctx()),
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with a CMS over the challenge payload, made with an authentication key',
        body: signedRequestSchema(loginPayload),
        response: {
          200: {
            type: 'object',
            properties: { token: { type: 'string' }, session: sessionSchema },
          },
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const userAgent = request.headers['user-agent']?.slice(0, 300);
      const result = await login(ctx(), request.body as SignedRequest, { userAgent });
      setSessionCookie(reply, result.token);
      return result;
    },
  );

  app.post(
    '/auth/logout',
    { schema: { tags: ['auth'], summary: 'End the current session', response: doneResponses } },
    async (request, reply) => {
      const session = await requireSession(request);
      await endSession(ctx(), session, session.id);
      clearSessionCookie(reply);
      return reply.code(204).send();
    },
  );

  app.get(
    '/auth/me',
    {
      schema: {
        tags: ['auth'],
        summary: 'The current session',
        response: { 200: sessionSchema, ...problemResponses },
      },
    },
    async (request) => requireSession(request),
  );

  app.get(
    '/auth/sessions',
    {
      schema: {
        tags: ['auth'],
        summary: "The user's sessions, newest first",
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                createdAt: { type: 'string', format: 'date-time' },
                lastSeenAt: { type: 'string', format: 'date-time' },
                expiresAt: { type: 'string', format: 'date-time' },
                endedAt: { type: ['string', 'null'], format: 'date-time' },
                userAgent: { type: ['string', 'null'] },
                current: { type: 'boolean' },
              },
            },
          },
          ...problemResponses,
        },
      },
    },
    async (request) => listSessions(app.ctx.db, await requireSession(request)),
  );

  app.delete(
    '/auth/sessions/:id',
    {
      schema: {
        tags: ['auth'],
        summary: 'End one of your sessions',
        params: { type: 'object', required: ['id'], properties: { id: uuidProperty } },
        response: doneResponses,
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      await endSession(ctx(), await requireSession(request), id);
      return reply.code(204).send();
    },
  );

  app.put(
    '/auth/session/acting',
    {
      schema: {
        tags: ['auth'],
        summary: 'Choose the participant you act for in this session',
        body: {
          type: 'object',
          required: ['participantId'],
          additionalProperties: false,
          properties: { participantId: uuidProperty },
        },
        response: doneResponses,
      },
    },
    async (request, reply) => {
      const { participantId } = request.body as { participantId: string };
      await actFor(ctx(), await requireSession(request), participantId);
      return reply.code(204).send();
    },
  );
};
