// Applies the numbered .sql migrations in order, each in its own transaction. A transaction-level
// advisory lock makes it safe for several nodes to start at once: one applies, the others wait and
// then find the migration recorded.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UppError } from '../domain/errors.js';
import type { Database } from './database.js';

/** Same path from src/store and from dist/store: the .sql files are not compiled. */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));

/** pg_advisory_xact_lock key: "UPP" + migrations, fixed so every node takes the same lock. */
const MIGRATION_LOCK_KEY = 0x5550_5001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `migration numbers must run 1, 2, 3...: ${migration.version} is out of place`,
      );
    }
  });
  return migrations;
}

const CREATE_LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migration (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

export interface MigrationOutcome {
  applied: number[];
  current: number;
}

export async function migrate(
  db: Database,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationOutcome> {
  const applied: number[] = [];
  for (const migration of migrations) {
    const didApply = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await tx.exec(CREATE_LEDGER);
      const found = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM schema_migration WHERE version = $1',
        [migration.version],
      );
      const recorded = found.rows[0];
      if (recorded !== undefined) {
        if (recorded.checksum !== migration.checksum) {
          throw new UppError(
            'migration.checksum_mismatch',
            500,
            `migration ${migration.version} (${migration.name}) was changed after it was applied`,
          );
        }
        return false;
      }
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      return true;
    });
    if (didApply) applied.push(migration.version);
  }
  return { applied, current: migrations.length };
}

/** The highest applied migration, or 0 on a database that was never migrated. */
export async function currentVersion(db: Database): Promise<number> {
  const ledger = await db.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migration') IS NOT NULL AS exists",
  );
  if (ledger.rows[0]?.exists !== true) return 0;
  const result = await db.query<{ version: number | null }>(
    'SELECT max(version) AS version FROM schema_migration',
  );
  return result.rows[0]?.version ?? 0;
}
