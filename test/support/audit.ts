// Records an audit entry and links it at once, for tests that look at its place in the chain.
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
  await linkAudit(db, true);
  const entry = await auditEntry(db, id);
  assert.ok(entry !== undefined, 'a committed entry is linked when no older transaction runs');
  return entry;
}
