// Chooses the driver from configuration: the PostgreSQL server when DATABASE_URL is set,
// otherwise PGlite under the data directory.
import { join } from 'node:path';
import type { Database } from './database.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export interface StoreSettings {
  databaseUrl: string | undefined;
  dataDir: string;
  databasePoolSize: number;
}

export function openDatabase(settings: StoreSettings): Promise<Database> {
  if (settings.databaseUrl !== undefined) {
    return openPostgres({ url: settings.databaseUrl, poolSize: settings.databasePoolSize });
  }
  return openPglite(join(settings.dataDir, 'pglite'));
}
