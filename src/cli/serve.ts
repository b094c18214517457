// `upp serve`: checks the runtime, opens and migrates the database, and serves HTTP until told to
// stop; SIGTERM and SIGINT finish the requests in flight before closing the database.
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../config/index.js';
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
        ? new LotIndex(db, { staleMs: config.searchIndexStaleMs, prewrite: 'ru' })
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
  if (config.workers > 1 && cluster.isPrimary) return superviseWorkers(config);
  const server = await startServer(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.app.log.info({ event: 'server.stopping', signal }, 'server.stopping');
      server.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // A worker's channel to its supervisor would keep the process alive after everything closed.
  cluster.worker?.disconnect();
  return 0;
}

/** A JSON log line of the supervising process, which has no application logger. */
function supervisorLog(level: 'info' | 'warn', event: string, details: object): void {
  const line = { level, time: Date.now(), pid: process.pid, event, msg: event, ...details };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

/** How long before a worker that stopped on its own is started again. */
const RESTART_DELAY_MS = 1000;

/**
 * `UPP_WORKERS` server processes on the one port (node:cluster), each a whole node with its own
 * pool, lot index and chronograph, as several machines would be. The embedded database belongs
 * to one process, so more than one worker needs the PostgreSQL server. SIGTERM and SIGINT are
 * passed on; the supervisor exits when every worker has finished its requests.
 */
async function superviseWorkers(config: Config): Promise<number> {
  if (config.databaseUrl === undefined) {
    throw new ConfigError(
      'UPP_WORKERS',
      '1 with the embedded database (set DATABASE_URL for more)',
      String(config.workers),
    );
  }
  let stopping = false;
  const running = new Set<Worker>();
  let finished: () => void = () => undefined;
  const start = () => {
    const worker = cluster.fork();
    running.add(worker);
    worker.on('exit', (code, signal) => {
      running.delete(worker);
      if (stopping) {
        if (running.size === 0) finished();
        return;
      }
      supervisorLog('warn', 'worker.exited', { worker: worker.process.pid, code, signal });
      setTimeout(() => {
        if (!stopping) start();
      }, RESTART_DELAY_MS).unref();
    });
  };
  for (let count = 0; count < config.workers; count += 1) start();
  supervisorLog('info', 'workers.started', { workers: config.workers });
  await new Promise<void>((resolve) => {
    finished = resolve;
    const stop = (signal: NodeJS.Signals) => {
      stopping = true;
      supervisorLog('info', 'workers.stopping', { signal });
      if (running.size === 0) resolve();
      for (const worker of running) worker.process.kill('SIGTERM');
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
