// Builds the real HTTP application over a real database for `inject` tests.
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/index.js';
import { fixedClock } from '../../src/domain/time.js';
import type { SettableClock } from '../../src/domain/time.js';
import { buildApp } from '../../src/http/app.js';
import type { Database } from '../../src/store/database.js';

export interface TestApp {
  app: FastifyInstance;
  clock: SettableClock;
  config: Config;
}

export async function testApp(
  db: Database,
  env: Record<string, string> = {},
  start = '2026-03-02T04:00:00.000Z',
): Promise<TestApp> {
  const config = loadConfig({ NODE_ENV: 'test', UPP_DATA_DIR: '/nonexistent', ...env });
  const clock = fixedClock(start);
  const app = await buildApp({ config, db, clock }, { logger: false });
  await app.ready();
  return { app, clock, config };
}
