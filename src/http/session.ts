// Who is calling: the session behind the HttpOnly cookie (browser) or the bearer token (API
// clients). Every route that needs a user asks here; the answer is checked on the server.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UppError } from '../domain/errors.js';
import { SESSION_LIFETIME_MS, sessionOf } from '../services/auth.js';
import type { Session } from '../services/auth.js';

export const SESSION_COOKIE = 'upp_session';

export function tokenFrom(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer ([A-Za-z0-9_-]{1,128})$/.exec(authorization);
    return match?.[1];
  }
  const cookies = request.headers.cookie ?? '';
  for (const part of cookies.split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === SESSION_COOKIE && value !== undefined) return value;
  }
  return undefined;
}

export async function requireSession(request: FastifyRequest): Promise<Session> {
  const token = tokenFrom(request);
  const session =
    token === undefined
      ? undefined
      : await sessionOf(request.server.ctx.db, token, request.server.ctx.clock.now());
  if (session === undefined) {
    throw new UppError('auth.required', 401, 'log in first: no live session for this request');
  }
  return session;
}

export function setSessionCookie(reply: FastifyReply, token: string): void {
  const maxAge = Math.floor(SESSION_LIFETIME_MS / 1000);
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Strict`,
  );
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict`,
  );
}
