// `upp serve`: checks the runtime, opens and migrates the database, and serves HTTP until told to
// stop; SIGTERM and SIGINT finish the requests in flight before closing the database.
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { AUCTION_DEFAULTS } from '../domain/auction.js';
import type { AuctionSettings } from '../domain/auction.js';
import { checkTimeZoneData, systemClock } from '../domain/time.js';
import type { Clock } from '../domain/time.js';
import { buildApp } from '../http/app.js';
import { startChronograph } from '../jobs/chronograph.js';
import type { AppOptions } from '../http/app.js';
import { loadWorkingCalendar } from '../services/calendar.js';
import { LotIndex } from '../services/lot-index.js';
import { seedDemoPlatform, seedsDemoData } from '../services/demo-seed.js';
import { createPlatformPki, pkiSettingsFromEnv } from '../services/pki.js';
import { WrappingKey } from '../services/sealing.js';
import type { Database } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';

export interface RunningServer {
  app: FastifyInstance;
  db: Database;
  url: string;
  close(): Promise<void>;
}

export async function startServer(
  config: Config,
  clock: Clock = systemClock,
  options: AppOptions = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<RunningServer> {
  checkTimeZoneData();
  const calendar = loadWorkingCalendar(config.calendarDir);
  const pki = await createPlatformPki(pkiSettingsFromEnv(env, config), clock);
  const sealing = WrappingKey.fromFile(
    config.sealingKeyFile ?? join(config.dataDir, 'keys', 'offer-wrapping.key'),
  );
  const db = await openDatabase(config);
  try {
    const migration = await migrate(db);
    const demo = seedsDemoData(config, db.driver)
      ? await seedDemoPlatform(db, { now: clock.now(), calendar, ocidPrefix: config.ocdsPrefix })
      : undefined;
    const lotIndex =
      config.searchIndex === 'memory'
        ? new LotIndex(db, { staleMs: config.searchIndexStaleMs })
        : undefined;
    const app = await buildApp({ config, db, clock, pki, calendar, sealing, lotIndex }, options);
    app.addHook('onClose', async () => lotIndex?.stop());
    const url = await app.listen({ host: config.host, port: config.port });
    lotIndex?.start(app.log);
    const chronograph =
      config.chronographIntervalMs === 0
        ? undefined
        : startChronograph({
            db,
            clock,
            sealing,
            auction: auctionSettings(config),
            intervalMs: config.chronographIntervalMs,
            log: app.log,
          });
    app.log.info(
      {
        event: 'server.started',
        url,
        driver: db.driver,
        migrationsApplied: migration.applied,
        demoProcurements: demo?.procurements ?? 0,
      },
      'server.started',
    );
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (chronograph?.stop() ?? Promise.resolve())
        .then(() => app.close())
        .then(() => db.close());
      return closing;
    };
    return { app, db, url, close };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** The auction rules of this platform: the defaults of DOMAIN.md unless configured. */
export function auctionSettings(config: Config): AuctionSettings {
  const minute = 60_000;
  return {
    ...AUCTION_DEFAULTS,
    stepBasisPoints: config.auctionStepBasisPoints,
    durationMs: config.auctionMinutes * minute,
    extensionWindowMs: config.auctionExtensionMinutes * minute,
    extensionMs: config.auctionExtensionMinutes * minute,
  };
}

export async function serve(config: Config): Promise<number> {
  const server = await startServer(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.app.log.info({ event: 'server.stopping', signal }, 'server.stopping');
      server.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
