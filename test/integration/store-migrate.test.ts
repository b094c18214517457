import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { currentVersion, loadMigrations, migrate } from '../../src/store/migrate.js';
import { openPglite } from '../../src/store/pglite.js';
import { describeEachDatabase } from '../support/databases.js';

describeEachDatabase('migrations', (fresh) => {
  test('a new database is migrated to the latest; a second run applies nothing', async () => {
    const db = await (await fresh()).open();
    assert.equal(await currentVersion(db), 0);
    const first = await migrate(db);
    const latest = loadMigrations().length;
    assert.deepEqual(
      first.applied,
      Array.from({ length: latest }, (_, i) => i + 1),
    );
    assert.equal(await currentVersion(db), latest);
    const second = await migrate(db);
    assert.deepEqual(second.applied, []);
  });

  test('several nodes migrating at once apply each migration exactly once', async () => {
    const testDb = await fresh();
    const nodes = await Promise.all([testDb.open(), testDb.openAnother(), testDb.openAnother()]);
    const outcomes = await Promise.all(nodes.map((db) => migrate(db)));
    const applied = outcomes.flatMap((outcome) => outcome.applied).sort((a, b) => a - b);
    assert.deepEqual(
      applied,
      loadMigrations().map((migration) => migration.version),
    );
    const rows = await nodes[0]!.query<{ n: bigint }>('SELECT count(*) AS n FROM schema_migration');
    assert.equal(rows.rows[0]?.n, BigInt(loadMigrations().length));
  });

  test('a migration changed after it was applied stops the start', async () => {
    const db = await (await fresh()).open();
    const migrations = loadMigrations();
    await migrate(db, migrations);
    const changed = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'f'.repeat(64) } : m));
    await assert.rejects(migrate(db, changed), { code: 'migration.checksum_mismatch' });
  });

  test('a failing migration leaves nothing of itself behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'upp-migrations-'));
    try {
      writeFileSync(join(dir, '0001_good.sql'), 'CREATE TABLE good (id int);');
      writeFileSync(join(dir, '0002_bad.sql'), 'CREATE TABLE half (id int); SELECT nonsense;');
      const db = await (await fresh()).open();
      await assert.rejects(migrate(db, loadMigrations(dir)));
      assert.equal(await currentVersion(db), 1);
      const half = await db.query<{ t: string | null }>("SELECT to_regclass('half')::text AS t");
      assert.equal(half.rows[0]?.t, null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('migration files out of sequence are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'upp-migrations-'));
  try {
    writeFileSync(join(dir, '0001_a.sql'), 'SELECT 1;');
    writeFileSync(join(dir, '0003_c.sql'), 'SELECT 1;');
    assert.throws(() => loadMigrations(dir), /out of place/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the embedded database keeps every row across a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'upp-pglite-'));
  try {
    const first = await openPglite(dir);
    await migrate(first);
    await first.exec('CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2), (3);');
    await first.close();
    const second = await openPglite(dir);
    assert.equal(await currentVersion(second), loadMigrations().length);
    const rows = await second.query<{ n: bigint }>('SELECT count(*) AS n FROM kept');
    assert.equal(rows.rows[0]?.n, 3n);
    await second.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
