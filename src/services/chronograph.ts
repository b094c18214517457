// The chronograph's work: procurements whose next check is due move on exactly once, in the
// order they fell due, however many nodes claim at the same time (`FOR UPDATE SKIP LOCKED`).
import { nextStatus } from '../domain/procurement-methods.js';
import type { Database, Queryable } from '../store/database.js';
import { openOffers } from './applications.js';
import type { AuctionSettings } from '../domain/auction.js';
import { openAuction } from './auctions.js';
import { appendAudit } from './audit.js';
import { publishResults } from './results.js';
import { applyTransition, methodOfRow, recordEvent, scheduleOf } from './procurement-state.js';
import type { ProcurementRow } from './procurement-state.js';
import type { WrappingKey } from './sealing.js';

export const CHRONOGRAPH_ACTOR = 'chronograph';
/** Nonces are kept a day past their expiry, then removed; an expired nonce is refused anyway. */
const NONCE_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface ChronographWork {
  clock: { now(): Date };
  /** Opens the sealed offers of procurements whose deadline has come. */
  sealing: WrappingKey;
  /** How the auctions it opens run; the rules' defaults when absent. */
  auction?: AuctionSettings;
}

/** Opens the offers at the deadline and publishes the opening protocol as a public event. */
async function publishOpening(
  tx: Queryable,
  sealing: WrappingKey,
  row: ProcurementRow,
  dueAt: Date,
  now: Date,
): Promise<void> {
  const offers = await openOffers(tx, sealing, row.id, now);
  await recordEvent(tx, row.id, {
    kind: 'offers_opened',
    at: dueAt,
    actor: CHRONOGRAPH_ACTOR,
    details: { offers, openedAt: now.toISOString() },
  });
}

export interface Advance {
  procurementId: string;
  from: string;
  to: string;
  dueAt: Date;
}

/** Runs every schedule mark of one locked procurement that is due by `now`, earliest first. */
async function catchUp(
  tx: Queryable,
  options: ChronographWork,
  row: ProcurementRow,
  now: Date,
): Promise<Advance[]> {
  const { clock } = options;
  const method = methodOfRow(row);
  const done: Advance[] = [];
  while (row.next_check !== null && row.next_mark !== null && row.next_check <= now) {
    const dueAt = row.next_check;
    const from = row.status;
    const trigger = { at: row.next_mark };
    if (nextStatus(method, from, trigger) === undefined) {
      await tx.query('UPDATE procurement SET next_check = NULL, next_mark = NULL WHERE id = $1', [
        row.id,
      ]);
      break;
    }
    if (trigger.at === 'offersEndAt') await publishOpening(tx, options.sealing, row, dueAt, now);
    if (nextStatus(method, from, trigger) === 'results') await publishResults(tx, row, now);
    const to = await applyTransition(
      tx,
      row,
      {
        trigger,
        schedule: scheduleOf(row),
        change: {
          kind: 'status_changed',
          actor: CHRONOGRAPH_ACTOR,
          at: dueAt,
          details: { mark: trigger.at, recordedAt: now.toISOString() },
        },
      },
      now,
    );
    done.push({ procurementId: row.id, from, to, dueAt });
    // The auction's own clock takes over; opening it may settle the procurement at once.
    if (to === 'auction_pending') {
      await openAuction(tx, row.id, now, options.auction);
      break;
    }
  }
  for (const step of done) {
    await appendAudit(tx, clock, {
      actor: CHRONOGRAPH_ACTOR,
      action: 'procurement.status_changed',
      target: `procurement:${step.procurementId}`,
      details: { from: step.from, to: step.to, dueAt: step.dueAt.toISOString() },
    });
  }
  return done;
}

/**
 * Claims due procurements one transaction at a time, earliest due first, and moves each on.
 * A row another node holds is skipped, not waited for; that node moves it.
 */
export async function advanceDue(
  db: Database,
  options: ChronographWork,
  limit = 100,
): Promise<Advance[]> {
  const { clock } = options;
  const advanced: Advance[] = [];
  for (let claimed = 0; claimed < limit; claimed += 1) {
    const now = clock.now();
    const steps = await db.transaction(async (tx) => {
      const due = await tx.query<ProcurementRow>(
        `SELECT id, number, ocid, regime, method, customer_participant_id,
                organizer_participant_id, status, published_at, discussion_ends_at, offers_end_at,
                review_ends_at, next_check, next_mark, version
           FROM procurement WHERE next_check <= $1
          ORDER BY next_check, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const row = due.rows[0];
      return row === undefined ? undefined : catchUp(tx, options, row, now);
    });
    if (steps === undefined) break;
    advanced.push(...steps);
  }
  return advanced;
}

/** Housekeeping that needs no procurement: spent and expired nonces. */
export async function purgeExpired(db: Queryable, now: Date): Promise<number> {
  const removed = await db.query('DELETE FROM nonce WHERE expires_at < $1', [
    new Date(now.getTime() - NONCE_RETENTION_MS),
  ]);
  return removed.rowCount;
}
