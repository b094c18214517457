// Login by challenge and response with an authentication key, and the sessions it opens: a cookie
// for the browser, a bearer token for API clients; listing and ending them; expiry.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import type { Database, Queryable } from '../store/database.js';
import { appendAudit, recordAudit } from './audit.js';
import { expectAction, issueNonce, spendNonce, verifySignedRequest } from './signed-document.js';
import type { SignatureVerifier, SignedRequest } from './signed-document.js';

/** A session ends 12 hours after login, or after 30 minutes without a request. */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
export const SESSION_IDLE_MS = 30 * 60 * 1000;
/** last_seen_at is written at most this often, so reads stay reads. */
const TOUCH_INTERVAL_MS = 60 * 1000;

export interface AuthContext {
  db: Database;
  verifier: SignatureVerifier;
  clock: { now(): Date };
  /** The platform's public address: a login signature names it, so it cannot serve elsewhere. */
  audience: string;
}

export interface Challenge {
  nonce: string;
  expiresAt: Date;
  /** The exact payload to sign for a login (its RFC 8785 form is what the CMS must cover). */
  payload: { action: 'auth.login'; nonce: string; audience: string };
}

export interface Session {
  id: string;
  userId: string;
  /** The user's identity key (`iin:...` or `subject:...`), also the audit actor. */
  identity: string;
  iin: string | null;
  fullName: string;
  administrator: boolean;
  actingParticipantId: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function loginChallenge(ctx: AuthContext): Promise<Challenge> {
  const { nonce, expiresAt } = await issueNonce(ctx.db, 'login', ctx.clock.now());
  return { nonce, expiresAt, payload: { action: 'auth.login', nonce, audience: ctx.audience } };
}

export async function actionNonce(ctx: AuthContext): Promise<{ nonce: string; expiresAt: Date }> {
  return issueNonce(ctx.db, 'action', ctx.clock.now());
}

async function refuseLogin(
  ctx: AuthContext,
  error: unknown,
  identity: string | undefined,
): Promise<never> {
  if (error instanceof UppError) {
    await recordAudit(ctx.db, ctx.clock, {
      actor: identity ?? 'anonymous',
      action: 'auth.login.refused',
      details: { code: error.code },
    });
  }
  throw error;
}

export async function login(
  ctx: AuthContext,
  request: SignedRequest,
  meta: { userAgent?: string | undefined } = {},
): Promise<{ token: string; session: Session }> {
  const now = ctx.clock.now();
  let identity: string | undefined;
  try {
    expectAction(request.payload, 'auth.login');
    if (request.payload.audience !== ctx.audience) {
      throw new UppError('auth.wrong_audience', 400, `the login must name ${ctx.audience}`);
    }
    const verified = await verifySignedRequest(ctx.verifier, request, now, 'auth');
    identity = verified.identity.key;
    const serial = verified.signer.serial;
    return await ctx.db.transaction(async (tx) => {
      await spendNonce(tx, request.payload.nonce, 'login', now);
      const user = await registeredUser(tx, identity);
      const token = randomBytes(32).toString('base64url');
      const session = await openSession(tx, user, serial, token, now, meta.userAgent);
      await appendAudit(tx, ctx.clock, {
        actor: user.identity,
        action: 'auth.login',
        target: `session:${session.id}`,
        details: { certificateSerial: serial },
      });
      return { token, session };
    });
  } catch (error) {
    return refuseLogin(ctx, error, identity);
  }
}

interface UserRow {
  id: string;
  identity: string;
  iin: string | null;
  full_name: string;
  administrator: boolean;
  participants: string[];
}

async function registeredUser(tx: Queryable, identity: string | undefined): Promise<UserRow> {
  const found = await tx.query<UserRow>(
    `SELECT u.id, u.identity, u.iin, u.full_name, u.administrator,
            array_remove(array_agg(m.participant_id::text), NULL) AS participants
       FROM user_account u
       LEFT JOIN membership m ON m.user_id = u.id AND m.removed_at IS NULL
      WHERE u.identity = $1
      GROUP BY u.id`,
    [identity ?? ''],
  );
  const user = found.rows[0];
  if (user === undefined || (user.participants.length === 0 && !user.administrator)) {
    throw new UppError('auth.unknown_user', 401, 'no registered user holds this certificate');
  }
  return user;
}

async function openSession(
  tx: Queryable,
  user: UserRow,
  certificateSerial: string,
  token: string,
  now: Date,
  userAgent: string | undefined,
): Promise<Session> {
  const id = randomUUID();
  const expiresAt = new Date(now.getTime() + SESSION_LIFETIME_MS);
  const acting = user.participants.length === 1 ? (user.participants[0] ?? null) : null;
  await tx.query(
    `INSERT INTO session (id, token_sha256, user_id, acting_participant_id, certificate_serial,
       created_at, last_seen_at, expires_at, user_agent)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)`,
    [id, tokenHash(token), user.id, acting, certificateSerial, now, expiresAt, userAgent ?? null],
  );
  return {
    id,
    userId: user.id,
    identity: user.identity,
    iin: user.iin,
    fullName: user.full_name,
    administrator: user.administrator,
    actingParticipantId: acting,
    createdAt: now,
    expiresAt,
  };
}

interface SessionRow {
  id: string;
  user_id: string;
  identity: string;
  iin: string | null;
  full_name: string;
  administrator: boolean;
  acting_participant_id: string | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

/** The live session a token opens, or undefined when it is unknown, ended, expired or idle. */
export async function sessionOf(
  db: Database,
  token: string,
  now: Date,
): Promise<Session | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
  const found = await db.query<SessionRow>(
    `SELECT s.id, s.user_id, u.identity, u.iin, u.full_name, u.administrator,
            s.acting_participant_id, s.created_at, s.last_seen_at, s.expires_at
       FROM session s JOIN user_account u ON u.id = s.user_id
      WHERE s.token_sha256 = $1 AND s.ended_at IS NULL`,
    [tokenHash(token)],
    { prepared: true },
  );
  const row = found.rows[0];
  if (row === undefined) return undefined;
  const idleUntil = row.last_seen_at.getTime() + SESSION_IDLE_MS;
  if (now >= row.expires_at || now.getTime() >= idleUntil) return undefined;
  if (now.getTime() - row.last_seen_at.getTime() >= TOUCH_INTERVAL_MS) {
    await db.query('UPDATE session SET last_seen_at = $2 WHERE id = $1', [row.id, now]);
  }
  return {
    id: row.id,
    userId: row.user_id,
    identity: row.identity,
    iin: row.iin,
    fullName: row.full_name,
    administrator: row.administrator,
    actingParticipantId: row.acting_participant_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export interface SessionListing {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  endedAt: Date | null;
  userAgent: string | null;
  current: boolean;
}

export async function listSessions(db: Database, session: Session): Promise<SessionListing[]> {
  const rows = await db.query<{
    id: string;
    created_at: Date;
    last_seen_at: Date;
    expires_at: Date;
    ended_at: Date | null;
    user_agent: string | null;
  }>(
    `SELECT id, created_at, last_seen_at, expires_at, ended_at, user_agent
       FROM session WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT 100`,
    [session.userId],
  );
  return rows.rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    userAgent: row.user_agent,
    current: row.id === session.id,
  }));
}

/** Ends one of the user's own sessions (logout is ending the current one). */
export async function endSession(
  ctx: Pick<AuthContext, 'db' | 'clock'>,
  session: Session,
  sessionId: string,
): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const ended = await tx.query(
      `UPDATE session SET ended_at = $3
        WHERE id = $1 AND user_id = $2 AND ended_at IS NULL`,
      [sessionId, session.userId, ctx.clock.now()],
    );
    if (ended.rowCount === 0) {
      throw new UppError('session.not_found', 404, 'no such open session of yours');
    }
    await appendAudit(tx, ctx.clock, {
      actor: session.identity,
      action: 'auth.session.ended',
      target: `session:${sessionId}`,
    });
  });
}

/** Chooses which participant the user acts for in this session. */
export async function actFor(
  ctx: Pick<AuthContext, 'db' | 'clock'>,
  session: Session,
  participantId: string,
): Promise<void> {
  const updated = await ctx.db.query(
    `UPDATE session SET acting_participant_id = $2
      WHERE id = $1 AND EXISTS (SELECT 1 FROM membership
        WHERE user_id = $3 AND participant_id = $2 AND removed_at IS NULL)`,
    [session.id, participantId, session.userId],
  );
  if (updated.rowCount === 0) {
    throw new UppError('access.not_member', 403, 'you are not a user of that participant');
  }
}
