// Embedded driver: PostgreSQL compiled to WebAssembly, keeping its files under the data directory.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable } from './database.js';
import { quoteChannel, TYPE_PARSERS } from './database.js';

type PgliteQueryable = Pick<PGlite, 'query' | 'exec'>;

function wrap(target: PgliteQueryable): Queryable {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []) {
      const result = await target.query<R>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string) {
      await target.exec(sql);
    },
  };
}

/** Opens (creating when absent) an embedded database; `dir` undefined keeps it in memory. */
export async function openPglite(dir: string | undefined): Promise<Database> {
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir === undefined ? 'memory://' : dir, {
    parsers: TYPE_PARSERS,
  });
  const direct = wrap(pglite);
  return {
    driver: 'pglite',
    query: direct.query,
    exec: direct.exec,
    transaction: <T>(work: (tx: Queryable) => Promise<T>) =>
      pglite.transaction((tx) => work(wrap(tx))),
    // One process holds the only connection, so it is never lost and `onResumed` never fires.
    async listen(channel: string, onPayload: (payload: string) => void) {
      const quoted = quoteChannel(channel);
      const callback = (payload: string) => {
        try {
          onPayload(payload);
        } catch {
          // As with the server driver, a listener's failure stays its own.
        }
      };
      await pglite.listen(quoted, callback);
      // The function PGlite returns repeats UNLISTEN without the quotes; this keeps them.
      return () => pglite.unlisten(quoted, callback);
    },
    close: () => pglite.close(),
  };
}
