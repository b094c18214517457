// An overloaded PostgreSQL pool answers "busy" (503 with Retry-After), never an internal error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UppError } from '../../src/domain/errors.js';
import { openPostgres } from '../../src/store/postgres.js';
import { TEST_DATABASE_URL } from '../support/databases.js';

test('a query that finds no free connection in time is refused as database.busy', async (t) => {
  const db = await openPostgres({ url: TEST_DATABASE_URL, poolSize: 1, connectTimeoutMs: 200 });
  t.after(() => db.close());
  let release: () => void = () => undefined;
  const held = db.transaction(
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  await assert.rejects(
    db.query('SELECT 1'),
    (error: unknown) =>
      error instanceof UppError &&
      error.code === 'database.busy' &&
      error.status === 503 &&
      error.details?.retryAfterSeconds === 2,
  );
  await assert.rejects(
    db.transaction(async () => undefined),
    UppError,
  );
  release();
  await held;
  assert.deepEqual((await db.query<{ n: number }>('SELECT 1 AS n')).rows, [{ n: 1 }]);
});
