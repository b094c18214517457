// Runs the chronograph on this node: every interval it claims what is due; several nodes may run
// it at once, since claiming skips rows another node holds.
import type { FastifyBaseLogger } from 'fastify';
import type { Database } from '../store/database.js';
import type { WrappingKey } from '../services/sealing.js';
import type { AuctionSettings } from '../domain/auction.js';
import { closeDueAuctions } from '../services/auctions.js';
import { advanceDue, purgeExpired } from '../services/chronograph.js';
import { linkAudit } from '../services/audit.js';

export interface ChronographOptions {
  db: Database;
  clock: { now(): Date };
  sealing: WrappingKey;
  auction: AuctionSettings;
  intervalMs: number;
  log: FastifyBaseLogger;
}

export interface RunningChronograph {
  /** Waits for the round in progress, then stops. */
  stop(): Promise<void>;
}

export function startChronograph(options: ChronographOptions): RunningChronograph {
  const { db, clock, sealing, auction, intervalMs, log } = options;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      const advanced = await advanceDue(db, { clock, sealing, auction });
      for (const step of advanced) {
        log.info({ event: 'procurement.status_changed', ...step }, 'procurement.status_changed');
      }
      for (const closed of await closeDueAuctions(db, clock)) {
        log.info({ event: 'auction.closed', ...closed }, 'auction.closed');
      }
      await purgeExpired(db, clock.now());
      await linkAudit(db);
    } catch (error) {
      log.error({ event: 'chronograph.failed', err: error }, 'chronograph.failed');
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = tick().then(schedule);
    }, intervalMs);
    timer.unref();
  };

  round = tick().then(schedule);
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await round;
    },
  };
}
