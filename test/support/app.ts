// Builds the real HTTP application over a real database for `inject` tests, with the platform PKI
// trusting a demo CA of its own (created once per test file) and, when asked, the NCA RK test PKI.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { workingCalendar } from '../../src/domain/calendar.js';
import { fixedClock } from '../../src/domain/time.js';
import type { SettableClock } from '../../src/domain/time.js';
import { buildApp } from '../../src/http/app.js';
import { LotIndex } from '../../src/services/lot-index.js';
import { createPlatformPki, pkiSettingsFromEnv } from '../../src/services/pki.js';
import type { PlatformPki } from '../../src/services/pki.js';
import { WrappingKey } from '../../src/services/sealing.js';
import type { Database } from '../../src/store/database.js';

export const VECTORS = new URL('../../../shared/kz-eds-vectors/', import.meta.url).pathname;

export interface TestApp {
  app: FastifyInstance;
  clock: SettableClock;
  config: Config;
  pki: PlatformPki;
}

const dataDir = mkdtempSync(join(tmpdir(), 'upp-test-app-'));

export async function testApp(
  db: Database,
  env: Record<string, string> = {},
  start = '2026-03-02T04:00:00.000Z',
  logs?: { write(line: string): void },
): Promise<TestApp> {
  const fullEnv = {
    NODE_ENV: 'test',
    UPP_DATA_DIR: dataDir,
    UPP_PKI_TRUST: 'demo,test',
    UPP_PKI_TEST_TRUST_DIR: join(VECTORS, 'ca'),
    ...env,
  };
  const config = loadConfig(fullEnv);
  const clock = fixedClock(start);
  const pki = await createPlatformPki(pkiSettingsFromEnv(fullEnv, config), clock);
  const sealing = WrappingKey.fromBytes(randomBytes(32));
  // The lot index only when a test asks for it: most fixtures write lots without releases.
  const lotIndex =
    env.UPP_SEARCH_INDEX === 'memory'
      ? new LotIndex(db, { staleMs: config.searchIndexStaleMs })
      : undefined;
  await lotIndex?.ready();
  const app = await buildApp(
    { config, db, clock, pki, calendar: workingCalendar(), sealing, lotIndex },
    { logger: logs === undefined ? false : { level: 'debug', stream: logs } },
  );
  await app.ready();
  return { app, clock, config, pki };
}
