import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixedClock } from '../../src/domain/time.js';
import {
  GENESIS_HASH,
  appendAudit,
  auditCheckpoint,
  auditEntry,
  entryHash,
  linkAudit,
  recordAudit,
  verifyAudit,
} from '../../src/services/audit.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { recordLinked } from '../support/audit.js';
import { describeEachDatabase } from '../support/databases.js';

const clock = fixedClock('2026-03-02T09:00:00.000Z');

async function recordSome(db: Database, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    clock.advance(1000);
    await recordLinked(db, clock, {
      actor: `iin:${String(870101300000 + i)}`,
      action: 'procurement.published',
      target: `procurement:${i}`,
      details: { lots: i, amountTiyn: 123_456_789n * BigInt(i), title: 'Поставка бумаги' },
    });
  }
}

/** What a DBA with full rights could do: switch the append-only trigger off and edit. */
async function tamper(db: Database, sql: string, params: unknown[]): Promise<void> {
  await db.exec('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
  await db.query(sql, params);
  await db.exec('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
}

describeEachDatabase('audit log', (fresh) => {
  const migrated = async () => {
    const db = await (await fresh()).open();
    await migrate(db);
    return db;
  };

  test('an empty log verifies and its checkpoint is the genesis hash', async () => {
    const db = await migrated();
    assert.deepEqual(await verifyAudit(db), { ok: true, count: 0, hash: GENESIS_HASH });
    assert.deepEqual(await auditCheckpoint(db), { count: 0, hash: GENESIS_HASH, recordedAt: null });
  });

  test('entries chain each to the previous hash and the whole chain verifies', async () => {
    const db = await migrated();
    await recordSome(db, 5);
    const rows = await db.query<{ seq: bigint; prev_hash: string; hash: string }>(
      'SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq',
    );
    assert.equal(rows.rows.length, 5);
    assert.equal(rows.rows[0]?.prev_hash, GENESIS_HASH);
    for (let i = 1; i < rows.rows.length; i += 1) {
      assert.equal(rows.rows[i]?.prev_hash, rows.rows[i - 1]?.hash);
    }
    const result = await verifyAudit(db);
    assert.deepEqual(result, { ok: true, count: 5, hash: rows.rows[4]?.hash });
    const checkpoint = await auditCheckpoint(db);
    assert.equal(checkpoint.count, 5);
    assert.equal(checkpoint.hash, rows.rows[4]?.hash);
  });

  test('the database refuses to update, delete or truncate entries', async () => {
    const db = await migrated();
    await recordSome(db, 2);
    await assert.rejects(db.query("UPDATE audit_log SET actor = 'x' WHERE seq = 1"), /append-only/);
    await assert.rejects(db.query('DELETE FROM audit_log WHERE seq = 2'), /append-only/);
    await assert.rejects(db.exec('TRUNCATE audit_log'), /append-only/);
    assert.equal((await verifyAudit(db)).ok, true);
  });

  test('an edited entry is named as the first broken link', async () => {
    const db = await migrated();
    await recordSome(db, 6);
    await tamper(db, `UPDATE audit_log SET details = '{"lots": 99}' WHERE seq = 3`, []);
    const result = await verifyAudit(db);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.brokenAt, 3);
    assert.match(!result.ok ? result.reason : '', /content does not match its hash/);
  });

  test('a rewritten entry with a recomputed hash breaks the next link', async () => {
    const db = await migrated();
    await recordSome(db, 4);
    await tamper(db, `UPDATE audit_log SET hash = $1 WHERE seq = 2`, ['a'.repeat(64)]);
    const result = await verifyAudit(db);
    assert.equal(!result.ok && result.brokenAt, 2);
  });

  test('a deleted entry in the middle is reported as missing', async () => {
    const db = await migrated();
    await recordSome(db, 4);
    await db.exec('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await db.query('DELETE FROM audit_log WHERE seq = 2');
    const result = await verifyAudit(db);
    assert.equal(!result.ok && result.brokenAt, 2);
    assert.match(!result.ok ? result.reason : '', /entry 2 is missing/);
  });

  test('a cut-off tail is caught by an earlier published checkpoint', async () => {
    const db = await migrated();
    await recordSome(db, 5);
    const published = await auditCheckpoint(db);
    await tamper(db, 'DELETE FROM audit_log WHERE seq >= 4', []);
    assert.equal((await verifyAudit(db)).ok, true, 'the shorter chain is consistent in itself');
    const result = await verifyAudit(db, published);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.brokenAt, 4);
  });

  test('concurrent appends from several connections form one unbroken chain', async () => {
    const testDb = await fresh();
    const db = await testDb.open();
    await migrate(db);
    const other = await testDb.openAnother();
    const work = Array.from({ length: 30 }, (_, i) =>
      (i % 2 === 0 ? db : other).transaction(async (tx) => {
        await tx.query('SELECT 1');
        return appendAudit(tx, clock, {
          actor: 'system',
          action: 'test.concurrent',
          target: `t:${i}`,
        });
      }),
    );
    const ids = await Promise.all(work);
    assert.equal(await linkAudit(db, true), 30);
    const linked = await db.query<{ seq: bigint }>(
      'SELECT seq FROM audit_log WHERE entry_id = ANY($1::uuid[]) ORDER BY seq',
      [ids],
    );
    assert.deepEqual(
      linked.rows.map((row) => Number(row.seq)),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.deepEqual(await verifyAudit(db), {
      ok: true,
      count: 30,
      hash: (await auditCheckpoint(db)).hash,
    });
  });

  test('an entry appended in a transaction that rolls back leaves no trace', async () => {
    const db = await migrated();
    await recordSome(db, 1);
    await assert.rejects(
      db.transaction(async (tx) => {
        await appendAudit(tx, clock, { actor: 'system', action: 'test.rollback' });
        throw new Error('business rule failed');
      }),
    );
    await recordSome(db, 1);
    assert.deepEqual((await verifyAudit(db)).ok && (await auditCheckpoint(db)).count, 2);
  });

  test('an entry another node appended meanwhile is built upon, not overwritten', async () => {
    const db = await migrated();
    await recordSome(db, 2);
    const end = await auditCheckpoint(db);
    const theirs = {
      seq: 3,
      recordedAt: new Date(clock.now().getTime() + 1),
      actor: 'system',
      action: 'test.other_node',
      target: null,
      requestId: null,
      details: {},
      prevHash: end.hash,
    };
    await db.query(
      `INSERT INTO audit_log (seq, recorded_at, actor, action, target, request_id, details,
         prev_hash, hash) VALUES ($1, $2, $3, $4, NULL, NULL, '{}', $5, $6)`,
      [3, theirs.recordedAt, theirs.actor, theirs.action, theirs.prevHash, entryHash(theirs)],
    );
    await recordSome(db, 1);
    const rows = await db.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq');
    assert.deepEqual(
      rows.rows.map((row) => row.action),
      [
        'procurement.published',
        'procurement.published',
        'test.other_node',
        'procurement.published',
      ],
    );
    assert.deepEqual(await verifyAudit(db), {
      ok: true,
      count: 4,
      hash: (await auditCheckpoint(db)).hash,
    });
  });

  test('appends to two logs in turn each link to their own last entry', async () => {
    const first = await migrated();
    const second = await migrated();
    for (const db of [first, second, first, second, second, first]) await recordSome(db, 1);
    for (const db of [first, second]) {
      const result = await verifyAudit(db);
      assert.deepEqual([result.ok, result.count], [true, 3]);
    }
  });

  test('an entry is linked once no older transaction can still add one before it', async () => {
    const testDb = await fresh();
    const db = await testDb.open();
    await migrate(db);
    await recordSome(db, 1);
    if (db.driver === 'pglite') {
      const id = await recordAudit(db, clock, { actor: 'system', action: 'test.alone' });
      assert.equal(await linkAudit(db), 1);
      assert.equal((await auditEntry(db, id))?.seq, 2);
      return;
    }
    const other = await testDb.openAnother();
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let began: () => void = () => undefined;
    const begun = new Promise<void>((resolve) => (began = resolve));
    const older = other.transaction(async (tx) => {
      await appendAudit(tx, clock, { actor: 'system', action: 'test.older' });
      began();
      await held;
    });
    await begun;
    const newer = await recordAudit(db, clock, { actor: 'system', action: 'test.newer' });
    assert.equal(await linkAudit(db), 0, 'the older transaction may still write');
    assert.equal(await auditEntry(db, newer), undefined);
    release();
    await older;
    assert.equal(await linkAudit(db, true), 2);
    const rows = await db.query<{ action: string }>('SELECT action FROM audit_log ORDER BY seq');
    assert.deepEqual(
      rows.rows.map((row) => row.action),
      ['procurement.published', 'test.older', 'test.newer'],
    );
    const pending = await db.query<{ n: bigint }>('SELECT count(*) AS n FROM audit_pending');
    assert.equal(pending.rows[0]?.n, 0n);
    assert.equal((await verifyAudit(db)).ok, true);
  });

  test('details that would not survive a round trip through jsonb are refused', async () => {
    const db = await migrated();
    const event = { actor: 'a', action: 'b', details: { share: 0.5 } };
    await assert.rejects(recordAudit(db, clock, event), /integers within 2\^53/);
    assert.equal((await auditCheckpoint(db)).count, 0);
  });
});
