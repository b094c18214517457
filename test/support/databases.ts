// Runs a suite against both drivers: PGlite in memory, and the PostgreSQL server at
// 127.0.0.1:5432 in a schema of its own. Outside CI an unreachable server skips that half
// with a visible message; in CI it fails.
import { randomBytes } from 'node:crypto';
import { after, describe } from 'node:test';
import pg from 'pg';
import type { Database, Queryable } from '../../src/store/database.js';
import { openPglite } from '../../src/store/pglite.js';
import { openPostgres } from '../../src/store/postgres.js';

export const TEST_DATABASE_URL =
  process.env.UPP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  open(): Promise<Database>;
  /** Opens another connection pool to the same database (for "several nodes" tests). */
  openAnother(): Promise<Database>;
  cleanup(): Promise<void>;
}

let serverReachable: Promise<string | undefined> | undefined;

/** undefined when reachable, otherwise the reason. */
function probeServer(): Promise<string | undefined> {
  serverReachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return serverReachable;
}

async function postgresTestDatabase(): Promise<TestDatabase> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const opened: Database[] = [];
  const open = async () => {
    const db = await openPostgres({ url: TEST_DATABASE_URL, schema, poolSize: 5 });
    opened.push(db);
    return db;
  };
  return {
    open,
    openAnother: open,
    async cleanup() {
      await Promise.all(opened.map((db) => db.close().catch(() => undefined)));
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
}

let sharedPglite: Promise<Database> | undefined;

/**
 * Starting PGlite costs seconds, so a test file shares one instance and each fresh database is a
 * schema of its own in it. Tests within a file run one after another, so setting the search path
 * before every statement keeps them apart.
 */
async function pgliteTestDatabase(): Promise<TestDatabase> {
  sharedPglite ??= openPglite(undefined);
  const shared = await sharedPglite;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await shared.exec(`CREATE SCHEMA ${schema}`);
  let closed = false;
  const enter = async (target: Queryable) => {
    if (closed) throw new Error('database is closed');
    await target.exec(`SET search_path TO ${schema}`);
  };
  const db: Database = {
    driver: 'pglite',
    async query(sql, params) {
      await enter(shared);
      return shared.query(sql, params);
    },
    async exec(sql) {
      await enter(shared);
      return shared.exec(sql);
    },
    transaction: (work) =>
      shared.transaction(async (tx) => {
        await enter(tx);
        return work(tx);
      }),
    // Channels are shared by every schema of the instance; live topics carry a prefix derived
    // from the schema, so suites in different schemas do not hear each other.
    listen: (channel, onPayload) => shared.listen(channel, onPayload),
    close: async () => {
      closed = true;
    },
  };
  return {
    open: async () => db,
    openAnother: async () => db,
    cleanup: async () => {
      await shared.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    },
  };
}

export type DriverName = 'pglite' | 'pg';

/**
 * Declares `suite` once per driver. `suite` receives a factory for a fresh, empty database;
 * each call gives a database of its own, cleaned up after the suite.
 */
export function describeEachDatabase(
  title: string,
  suite: (fresh: () => Promise<TestDatabase>, driver: DriverName) => void,
): void {
  for (const driver of ['pglite', 'pg'] as const) {
    describe(`${title} [${driver}]`, async () => {
      if (driver === 'pg') {
        const unreachable = await probeServer();
        if (unreachable !== undefined) {
          if (process.env.CI === 'true') {
            throw new Error(`PostgreSQL at ${TEST_DATABASE_URL} is required in CI: ${unreachable}`);
          }
          console.log(
            `# SKIPPED PostgreSQL half: ${TEST_DATABASE_URL} unreachable (${unreachable})`,
          );
          return;
        }
      }
      const created: TestDatabase[] = [];
      const fresh = async () => {
        const testDb = driver === 'pg' ? await postgresTestDatabase() : await pgliteTestDatabase();
        created.push(testDb);
        return testDb;
      };
      suite(fresh, driver);
      after(async () => {
        // One at a time: dropping a schema locks every object in it, and many drops at once
        // can fill the server's lock table.
        for (const testDb of created) await testDb.cleanup();
      });
    });
  }
}
