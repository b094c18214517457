// Idempotency-Key: a retried request gets the answer the first one got, and a key reused for a
// different request is refused. The answer is stored in the action's own transaction.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import { UppError } from '../domain/errors.js';
import type { Queryable } from '../store/database.js';

export interface IdempotentCall {
  userId: string;
  key: string;
  route: string;
  requestSha256: string;
}

export interface StoredAnswer {
  status: number;
  body: unknown;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

export function idempotentCall(
  userId: string,
  key: string | undefined,
  route: string,
  body: unknown,
): IdempotentCall | undefined {
  if (key === undefined) return undefined;
  if (!KEY.test(key)) {
    throw new UppError(
      'idempotency.bad_key',
      400,
      'Idempotency-Key is 1 to 255 visible characters',
    );
  }
  const requestSha256 = createHash('sha256').update(canonicalJson(body)).digest('hex');
  return { userId, key, route, requestSha256 };
}

/** The answer of an earlier call with the same key, or undefined when this is the first. */
export async function earlierAnswer(
  db: Queryable,
  call: IdempotentCall,
): Promise<StoredAnswer | undefined> {
  const found = await db.query<{
    route: string;
    request_sha256: string;
    status: number;
    response: unknown;
  }>(
    `SELECT route, request_sha256, status, response FROM idempotent_request
      WHERE user_id = $1 AND key = $2`,
    [call.userId, call.key],
  );
  const row = found.rows[0];
  if (row === undefined) return undefined;
  if (row.route !== call.route || row.request_sha256 !== call.requestSha256) {
    throw new UppError(
      'idempotency.key_reused',
      422,
      'this Idempotency-Key was used for another request',
    );
  }
  return { status: row.status, body: row.response };
}

/** Stores the answer in the caller's transaction; a concurrent twin fails on the key. */
export async function rememberAnswer(
  tx: Queryable,
  call: IdempotentCall,
  answer: StoredAnswer,
  now: Date,
): Promise<void> {
  const stored = await tx.query(
    `INSERT INTO idempotent_request (user_id, key, route, request_sha256, status, response,
       created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
    [
      call.userId,
      call.key,
      call.route,
      call.requestSha256,
      answer.status,
      JSON.stringify(answer.body),
      now,
    ],
  );
  if (stored.rowCount === 0) {
    throw new UppError(
      'idempotency.in_progress',
      409,
      'a request with this Idempotency-Key is being handled; retry shortly',
    );
  }
}
