// The hash-chained audit log. Each entry's hash is the SHA-256 of its canonical form (RFC 8785
// JSON), which includes the previous entry's hash; rewriting any entry breaks every later link.
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import type { Database, Queryable } from '../store/database.js';

export const GENESIS_HASH = '0'.repeat(64);

const VERIFY_BATCH = 1000;

export interface AuditEvent {
  actor: string;
  action: string;
  target?: string | undefined;
  requestId?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface AuditEntry {
  seq: number;
  recordedAt: Date;
  actor: string;
  action: string;
  target: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditCheckpoint {
  count: number;
  hash: string;
  recordedAt: Date | null;
}

export type AuditVerification =
  | { ok: true; count: number; hash: string }
  | { ok: false; count: number; brokenAt: number; reason: string };

/** The bytes that are hashed: every field of the entry except its own hash. */
export function canonicalForm(entry: Omit<AuditEntry, 'hash'>): string {
  return canonicalJson({
    seq: entry.seq,
    recordedAt: entry.recordedAt.toISOString(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    requestId: entry.requestId,
    details: entry.details,
    prevHash: entry.prevHash,
  });
}

export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonicalForm(entry), 'utf8').digest('hex');
}

/**
 * The canonical form of an entry cut where the previous hash and the sequence number go, which
 * only linking gives: canonicalForm(entry) is
 * beforePrev + prevHash + beforeSeq + seq + afterSeq. RFC 8785 orders the members by name, so
 * action, actor, details come first, then prevHash, recordedAt, requestId, seq, target.
 */
export function canonicalParts(entry: Omit<AuditEntry, 'seq' | 'prevHash' | 'hash'>): {
  beforePrev: string;
  beforeSeq: string;
  afterSeq: string;
} {
  const head = canonicalJson({
    action: entry.action,
    actor: entry.actor,
    details: entry.details,
  });
  return {
    beforePrev: `${head.slice(0, -1)},"prevHash":"`,
    beforeSeq:
      `","recordedAt":${canonicalJson(entry.recordedAt.toISOString())}` +
      `,"requestId":${canonicalJson(entry.requestId)},"seq":`,
    afterSeq: `,"target":${canonicalJson(entry.target)}}`,
  };
}

/** An entry as audit_pending takes it: `values` in the order of PENDING_COLUMNS. */
export interface PendingEntry {
  id: string;
  values: unknown[];
}

export const PENDING_COLUMNS = `(id, recorded_at, actor, action, target, request_id, details,
  before_prev, before_seq, after_seq)`;

/** The pending row of an event, recorded now; linkAudit links it once it is committed. */
export function pendingEntry(clock: { now(): Date }, event: AuditEvent): PendingEntry {
  const entry = {
    recordedAt: clock.now(),
    actor: event.actor,
    action: event.action,
    target: event.target ?? null,
    requestId: event.requestId ?? null,
    details: jsonSafe(event.details ?? {}),
  };
  const parts = canonicalParts(entry);
  const id = randomUUID();
  return {
    id,
    values: [
      id,
      entry.recordedAt,
      entry.actor,
      entry.action,
      entry.target,
      entry.requestId,
      JSON.stringify(entry.details),
      parts.beforePrev,
      parts.beforeSeq,
      parts.afterSeq,
    ],
  };
}

/**
 * Appends one entry inside the caller's transaction, so the entry exists exactly when the change
 * it records does. It takes its place in the chain, and its hash, once linkAudit runs after the
 * commit: no lock is held for it. Answers the entry's id (audit_log.entry_id once linked).
 */
export async function appendAudit(
  tx: Queryable,
  clock: { now(): Date },
  event: AuditEvent,
): Promise<string> {
  const pending = pendingEntry(clock, event);
  await tx.query(
    `INSERT INTO audit_pending ${PENDING_COLUMNS}
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    pending.values,
  );
  return pending.id;
}

/** Appends in a transaction of its own, for events that change nothing else; answers its id. */
export async function recordAudit(
  db: Database,
  clock: { now(): Date },
  event: AuditEvent,
): Promise<string> {
  return db.transaction((tx) => appendAudit(tx, clock, event));
}

/** pg_advisory_xact_lock key of the linker: one links at a time, across nodes. */
const LINK_LOCK_KEY = 0x5550_5002;
const LINK_BATCH = 5000;

/** The columns an entry has before and after it is linked. */
interface EntryColumns {
  recorded_at: Date;
  actor: string;
  action: string;
  target: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
}

interface PendingRow extends EntryColumns {
  id: string;
  before_prev: string;
  before_seq: string;
  after_seq: string;
}

/** How long a reader that must see every committed entry waits for older transactions. */
const LINK_WAIT_MS = 5000;

/**
 * Links the pending entries of every finished transaction into the chain, in the order of their
 * transaction ids and then of writing, and answers how many it linked. `wait` is for a reader
 * that must see every entry committed before it asked: it waits for another linker, and for the
 * transactions running when it was called to end (at most LINK_WAIT_MS), since an entry can be
 * linked only after every older transaction has ended.
 */
export async function linkAudit(db: Database, wait = false): Promise<number> {
  const horizon = wait
    ? (
        await db.query<{ xmax: string }>(
          'SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
        )
      ).rows[0]!.xmax
    : undefined;
  const giveUpAt = performance.now() + LINK_WAIT_MS;
  let linked = 0;
  for (;;) {
    const batch = await db.transaction((tx) => linkBatch(tx, horizon));
    linked += batch.linked;
    if (batch.linked === LINK_BATCH) continue;
    if (horizon === undefined || batch.caughtUp || performance.now() >= giveUpAt) return linked;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One batch of linkAudit; `caughtUp`: every transaction older than `horizon` has ended. */
async function linkBatch(
  tx: Queryable,
  horizon: string | undefined,
): Promise<{ linked: number; caughtUp: boolean }> {
  if (horizon !== undefined) {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LINK_LOCK_KEY]);
  } else {
    const locked = await tx.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_xact_lock($1) AS locked',
      [LINK_LOCK_KEY],
    );
    if (!locked.rows[0]!.locked) return { linked: 0, caughtUp: false };
  }
  const pending = await tx.query<PendingRow>(
    `SELECT id, recorded_at, actor, action, target, request_id, details, before_prev,
            before_seq, after_seq
       FROM audit_pending WHERE tx < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY tx, position LIMIT $1`,
    [LINK_BATCH],
  );
  const caughtUp = async () => {
    if (horizon === undefined) return false;
    const done = await tx.query<{ caught_up: boolean }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS caught_up',
      [horizon],
    );
    return done.rows[0]!.caught_up;
  };
  if (pending.rows.length === 0) return { linked: 0, caughtUp: await caughtUp() };
  const end = await tx.query<{ seq: bigint; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  let seq = Number(end.rows[0]?.seq ?? 0);
  let prevHash = end.rows[0]?.hash ?? GENESIS_HASH;
  const entries = pending.rows.map((row) => {
    seq += 1;
    const form = `${row.before_prev}${prevHash}${row.before_seq}${seq}${row.after_seq}`;
    const hash = createHash('sha256').update(form, 'utf8').digest('hex');
    const entry = { id: row.id, seq, prevHash, hash };
    prevHash = hash;
    return entry;
  });
  const ids = entries.map((entry) => entry.id);
  await tx.query(
    `INSERT INTO audit_log (seq, recorded_at, actor, action, target, request_id, details,
       prev_hash, hash, entry_id)
     SELECT e.seq, p.recorded_at, p.actor, p.action, p.target, p.request_id, p.details,
            e.prev_hash, e.hash, p.id
       FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[])
         AS e (id, seq, prev_hash, hash)
       JOIN audit_pending p ON p.id = e.id
      ORDER BY e.seq`,
    [ids, entries.map((e) => e.seq), entries.map((e) => e.prevHash), entries.map((e) => e.hash)],
  );
  await tx.query('DELETE FROM audit_pending WHERE id = ANY($1::uuid[])', [ids]);
  return { linked: entries.length, caughtUp: await caughtUp() };
}

/** A linked entry by the id appendAudit answered, or undefined while it is not linked. */
export async function auditEntry(db: Queryable, id: string): Promise<AuditEntry | undefined> {
  const found = await db.query<AuditRow>(
    `SELECT seq, recorded_at, actor, action, target, request_id, details, prev_hash, hash
       FROM audit_log WHERE entry_id = $1`,
    [id],
  );
  const row = found.rows[0];
  return row === undefined ? undefined : fromRow(row);
}

/**
 * The details as they will read back from jsonb: plain JSON only, so that the hash computed now
 * is the hash recomputed by `verify` later.
 */
function jsonSafe(details: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(details, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new Error('audit details take integers within 2^53 or strings, not fractions');
    }
    if (typeof value === 'string' && value.includes('\u0000')) {
      throw new Error('audit details cannot hold NUL characters');
    }
    return value;
  });
  return JSON.parse(text) as Record<string, unknown>;
}

interface AuditRow extends EntryColumns {
  seq: bigint;
  prev_hash: string;
  hash: string;
}

function fromRow(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    recordedAt: row.recorded_at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    requestId: row.request_id,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export async function auditCheckpoint(db: Queryable): Promise<AuditCheckpoint> {
  const result = await db.query<{ seq: bigint; hash: string; recorded_at: Date }>(
    'SELECT seq, hash, recorded_at FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  const last = result.rows[0];
  if (last === undefined) return { count: 0, hash: GENESIS_HASH, recordedAt: null };
  return { count: Number(last.seq), hash: last.hash, recordedAt: last.recorded_at };
}

/**
 * Whether the chain holds, at position `count`, the entry whose hash an outsider kept. The chain's
 * links carry the rest: every later entry commits to that one.
 */
export async function auditContains(
  db: Queryable,
  checkpoint: { count: number; hash: string },
): Promise<{ contained: boolean; count: number }> {
  const result = await db.query<{ hash: string | null; total: bigint | null }>(
    `SELECT (SELECT hash FROM audit_log WHERE seq = $1) AS hash,
            (SELECT max(seq) FROM audit_log) AS total`,
    [checkpoint.count],
  );
  const row = result.rows[0];
  return {
    contained: row?.hash === checkpoint.hash,
    count: Number(row?.total ?? 0),
  };
}

/**
 * Walks the whole chain in order and names the first entry whose link does not hold. Given a
 * checkpoint published earlier, it also proves that the chain still contains that checkpoint
 * (a cut-off tail or a rewritten history shows there).
 */
export async function verifyAudit(
  db: Queryable,
  checkpoint?: { count: number; hash: string },
): Promise<AuditVerification> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for (;;) {
    const batch = await db.query<AuditRow>(
      `SELECT seq, recorded_at, actor, action, target, request_id, details, prev_hash, hash
         FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [expectedSeq, VERIFY_BATCH],
    );
    for (const row of batch.rows) {
      const entry = fromRow(row);
      const broken = brokenLink(entry, expectedSeq, prevHash);
      if (broken !== undefined) {
        return { ok: false, count: expectedSeq - 1, brokenAt: expectedSeq, reason: broken };
      }
      if (checkpoint?.count === entry.seq && checkpoint.hash !== entry.hash) {
        const reason = 'its hash differs from the published checkpoint';
        return { ok: false, count: expectedSeq - 1, brokenAt: expectedSeq, reason };
      }
      prevHash = entry.hash;
      expectedSeq += 1;
    }
    if (batch.rows.length < VERIFY_BATCH) break;
  }
  const count = expectedSeq - 1;
  if (checkpoint !== undefined && checkpoint.count > count) {
    const reason = `the checkpoint names ${checkpoint.count} entries; the chain ends at ${count}`;
    return { ok: false, count, brokenAt: count + 1, reason };
  }
  return { ok: true, count, hash: prevHash };
}

function brokenLink(entry: AuditEntry, expectedSeq: number, prevHash: string): string | undefined {
  if (entry.seq !== expectedSeq) return `entry ${expectedSeq} is missing`;
  if (entry.prevHash !== prevHash) return 'its previous hash is not the hash of the entry before';
  const { hash, ...unhashed } = entry;
  if (entryHash(unhashed) !== hash) return 'its content does not match its hash';
  return undefined;
}
