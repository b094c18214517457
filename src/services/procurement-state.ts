// The one place a procurement changes state: the API's signed actions and the chronograph both
// call `applyTransition`, which reads the method's table, stores the new status and schedule,
// copies them onto the lots, and records the event and its OCDS release in the same transaction.
import { UppError } from '../domain/errors.js';
import { methodOf, nextStatus } from '../domain/procurement-methods.js';
import type {
  ProcurementMethod,
  ProcurementStatus,
  Regime,
  ScheduleMark,
  Trigger,
} from '../domain/procurement-methods.js';
import { nextCheck } from '../domain/procurement-schedule.js';
import type { Schedule } from '../domain/procurement-schedule.js';
import type { Queryable } from '../store/database.js';
import { recordRelease } from './ocds.js';

export interface ProcurementRow {
  id: string;
  number: string;
  ocid: string;
  regime: Regime;
  method: string;
  customer_participant_id: string;
  organizer_participant_id: string;
  status: ProcurementStatus;
  published_at: Date | null;
  discussion_ends_at: Date | null;
  offers_end_at: Date | null;
  review_ends_at: Date | null;
  next_check: Date | null;
  next_mark: ScheduleMark | null;
  version: number;
}

export function notFound(id: string): UppError {
  return new UppError('procurement.not_found', 404, `no procurement ${id}`);
}

/** The procurement's row, locked for the rest of the transaction. */
export async function lockProcurement(tx: Queryable, id: string): Promise<ProcurementRow> {
  const found = await tx.query<ProcurementRow>(
    `SELECT id, number, ocid, regime, method, customer_participant_id, organizer_participant_id,
            status, published_at, discussion_ends_at, offers_end_at, review_ends_at, next_check,
            next_mark, version
       FROM procurement WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const row = found.rows[0];
  if (row === undefined) throw notFound(id);
  return row;
}

export function methodOfRow(row: Pick<ProcurementRow, 'regime' | 'method'>): ProcurementMethod {
  const method = methodOf(row.regime, row.method);
  if (method === undefined) {
    throw new UppError('procurement.method_unknown', 500, `no method ${row.method} in the table`);
  }
  return method;
}

export function scheduleOf(row: ProcurementRow): Schedule | undefined {
  if (row.published_at === null || row.offers_end_at === null || row.review_ends_at === null) {
    return undefined;
  }
  return {
    publishedAt: row.published_at,
    discussionEndsAt: row.discussion_ends_at ?? undefined,
    offersEndAt: row.offers_end_at,
    reviewEndsAt: row.review_ends_at,
  };
}

/** OCDS tags by the kind of change, so each release says what it is. */
const RELEASE_TAGS: Readonly<Record<string, string[]>> = {
  published: ['tender'],
  amended: ['tenderAmendment'],
  cancelled: ['tenderCancellation'],
  refused: ['tenderCancellation'],
};

/** OCDS tags of a status change by the status reached, where it says more than an update. */
const STATUS_TAGS: Readonly<Partial<Record<ProcurementStatus, string[]>>> = {
  results: ['tenderUpdate', 'award'],
};

export interface Change {
  /** The event's kind: published, amended, status_changed, cancelled, refused, ... */
  kind: string;
  /** Who did it: an identity key, or `chronograph`. */
  actor: string;
  /** When it took effect: now for an action, the due instant for a schedule mark. */
  at: Date;
  documentId?: string;
  details?: Record<string, unknown>;
  reason?: string;
}

/** Writes one entry of a procurement's public history (procurement_event). */
export async function recordEvent(
  tx: Queryable,
  procurementId: string,
  event: Pick<Change, 'kind' | 'at' | 'actor' | 'documentId' | 'details'>,
): Promise<void> {
  await tx.query(
    `INSERT INTO procurement_event (procurement_id, kind, at, actor, document_id, details)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      procurementId,
      event.kind,
      event.at,
      event.actor,
      event.documentId ?? null,
      JSON.stringify(event.details ?? {}),
    ],
  );
}

export interface Transition {
  trigger: Trigger | undefined;
  schedule: Schedule | undefined;
  change: Change;
}

/**
 * Moves a locked procurement by `trigger` (or only re-times it when the trigger is undefined) and
 * writes what follows: status, schedule, next check, the lots' copies, an event and a release.
 * Returns the new status; throws `procurement.wrong_status` when the machine forbids the move.
 */
export async function applyTransition(
  tx: Queryable,
  row: ProcurementRow,
  transition: Transition,
  now: Date,
): Promise<ProcurementStatus> {
  const method = methodOfRow(row);
  const to =
    transition.trigger === undefined
      ? row.status
      : nextStatus(method, row.status, transition.trigger);
  if (to === undefined) {
    throw new UppError(
      'procurement.wrong_status',
      409,
      `a procurement that is ${row.status} cannot be moved that way`,
      { status: row.status },
    );
  }
  const schedule = transition.schedule;
  const check = nextCheck(method, to, schedule);
  await tx.query(
    `UPDATE procurement SET status = $2, published_at = $3, discussion_ends_at = $4,
            offers_end_at = $5, review_ends_at = $6, next_check = $7, next_mark = $8,
            reason = coalesce($9, reason), version = version + 1, updated_at = $10
      WHERE id = $1`,
    [
      row.id,
      to,
      schedule?.publishedAt ?? null,
      schedule?.discussionEndsAt ?? null,
      schedule?.offersEndAt ?? null,
      schedule?.reviewEndsAt ?? null,
      check?.at ?? null,
      check?.mark ?? null,
      transition.change.reason ?? null,
      now,
    ],
  );
  await tx.query(
    `UPDATE lot SET status = $2, published_at = $3, offers_end_at = $4 WHERE procurement_id = $1`,
    [row.id, to, schedule?.publishedAt ?? null, schedule?.offersEndAt ?? null],
  );
  const change = transition.change;
  const details = { from: row.status, to, ...(change.details ?? {}) };
  await recordEvent(tx, row.id, { ...change, details });
  if (to !== 'draft') {
    await recordRelease(tx, row.id, {
      tag: RELEASE_TAGS[change.kind] ?? STATUS_TAGS[to] ?? ['tenderUpdate'],
      date: now,
    });
  }
  Object.assign(row, {
    status: to,
    published_at: schedule?.publishedAt ?? null,
    discussion_ends_at: schedule?.discussionEndsAt ?? null,
    offers_end_at: schedule?.offersEndAt ?? null,
    review_ends_at: schedule?.reviewEndsAt ?? null,
    next_check: check?.at ?? null,
    next_mark: check?.mark ?? null,
    version: row.version + 1,
  });
  return to;
}
