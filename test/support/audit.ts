// Links the audit entries tests look at: an entry is linked only once every older transaction of
// the whole server has ended, and other test files run their own on the same server, so a wait
// of linkAudit's length may not be enough; this links until nothing of this schema is pending.
import assert from 'node:assert/strict';
import { auditEntry, linkAudit, recordAudit } from '../../src/services/audit.js';
import type { AuditEntry, AuditEvent } from '../../src/services/audit.js';
import type { Database } from '../../src/store/database.js';

export async function recordLinked(
  db: Database,
  clock: { now(): Date },
  event: AuditEvent,
): Promise<AuditEntry> {
  const id = await recordAudit(db, clock, event);
  await linkAll(db);
  const entry = await auditEntry(db, id);
  assert.ok(entry !== undefined, 'a committed entry is linked when no older transaction runs');
  return entry;
}

/** Links until no entry of this schema is pending (each round waits up to LINK_WAIT_MS). */
export async function linkAll(db: Database): Promise<void> {
  for (let round = 0; round < 24; round += 1) {
    await linkAudit(db, true);
    const pending = await db.query<{ n: bigint }>('SELECT count(*) AS n FROM audit_pending');
    if (pending.rows[0]!.n === 0n) return;
  }
}
