// Declared outages of the portal: acceptance that overlapped the window is extended by its
// length (the rules on technical failures), reopened if it closed meanwhile and no offer was
// opened at its deadline, with audit entries.
import { randomUUID } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { extendForOutage, overlapsAcceptance } from '../domain/procurement-schedule.js';
import type { Queryable } from '../store/database.js';
import { appendAudit } from './audit.js';
import type { Session } from './auth.js';
import { signedAction } from './participants.js';
import type { ProcurementContext } from './procurements.js';
import { applyTransition, methodOfRow, scheduleOf } from './procurement-state.js';
import type { ProcurementRow } from './procurement-state.js';
import { payloadInstant, payloadText } from './signed-document.js';
import type { SignedRequest } from './signed-document.js';

const OPERATOR_ROLES = ['single_operator', 'operator'];
/** While offers are accepted, or just after acceptance closed (which an outage may undo). */
const AFFECTED_STATUSES = ['published', 'accepting', 'awaiting_agreement', 'review'];

export interface OutageView {
  id: string;
  startsAt: Date;
  endsAt: Date;
  reason: string;
  declaredAt: Date;
  extended: { procurementId: string; offersEndAt: Date; reopened: boolean }[];
  /** Acceptance that overlapped the outage but is not reopened: its offers are public. */
  notReopened: { procurementId: string; reason: 'offers_opened' }[];
}

async function affected(tx: Queryable, start: Date, end: Date): Promise<ProcurementRow[]> {
  const found = await tx.query<ProcurementRow>(
    `SELECT id, number, ocid, regime, method, customer_participant_id, organizer_participant_id,
            status, published_at, discussion_ends_at, offers_end_at, review_ends_at, next_check,
            next_mark, version
       FROM procurement
      WHERE status = ANY ($1) AND published_at < $3 AND offers_end_at > $2
      ORDER BY offers_end_at, id FOR UPDATE`,
    [AFFECTED_STATUSES, start, end],
  );
  return found.rows;
}

/** Whether the deadline opened any price offer of the procurement. */
async function offersOpened(tx: Queryable, procurementId: string): Promise<boolean> {
  const found = await tx.query(
    `SELECT 1 FROM price_offer o JOIN application a ON a.id = o.application_id
      WHERE a.procurement_id = $1 LIMIT 1`,
    [procurementId],
  );
  return found.rows.length > 0;
}

export async function declareOutage(
  ctx: ProcurementContext,
  session: Session,
  request: SignedRequest,
): Promise<OutageView> {
  const participantId = payloadText(request.payload, 'participantId');
  const startsAt = payloadInstant(request.payload, 'startsAt', 'required');
  const endsAt = payloadInstant(request.payload, 'endsAt', 'required');
  const reason = payloadText(request.payload, 'reason');
  if (endsAt.getTime() <= startsAt.getTime()) {
    throw new UppError('outage.bad_window', 422, 'an outage ends after it starts');
  }
  const spec = { action: 'outage.declare', participantId, actionClass: 'other' } as const;
  return signedAction(ctx, session, request, spec, async (tx, acting, _documentId, now) => {
    if (!acting.roles.some((role) => OPERATOR_ROLES.includes(role))) {
      throw new UppError('outage.not_operator', 403, 'only an operator declares an outage');
    }
    if (endsAt.getTime() > now.getTime()) {
      throw new UppError('outage.not_over', 422, 'declare an outage once it has ended');
    }
    const id = randomUUID();
    await tx.query(
      `INSERT INTO outage (id, starts_at, ends_at, reason, declared_by, declared_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, startsAt, endsAt, reason, session.identity, now],
    );
    const lengthMs = endsAt.getTime() - startsAt.getTime();
    const extended: OutageView['extended'] = [];
    const notReopened: OutageView['notReopened'] = [];
    for (const row of await affected(tx, startsAt, endsAt)) {
      const schedule = scheduleOf(row);
      if (schedule === undefined || !overlapsAcceptance(schedule, startsAt, endsAt)) continue;
      // Acceptance that closed only because its deadline fell in the outage opens again, unless
      // offers were opened at that deadline: their prices are public, and a bid now could be
      // made against them. The organizer decides then (the rules' remedy is cancellation).
      const reopened = row.status === 'review';
      if (reopened && (await offersOpened(tx, row.id))) {
        await appendAudit(tx, ctx.clock, {
          actor: session.identity,
          action: 'procurement.outage_after_opening',
          target: `procurement:${row.id}`,
          details: { outageId: id, lengthMs, offersEndAt: schedule.offersEndAt.toISOString() },
        });
        notReopened.push({ procurementId: row.id, reason: 'offers_opened' });
        continue;
      }
      const longer = extendForOutage(ctx.calendar, methodOfRow(row), schedule, lengthMs);
      await applyTransition(
        tx,
        row,
        {
          trigger: reopened ? { action: 'reopen' } : undefined,
          schedule: longer,
          change: {
            kind: 'extended_for_outage',
            actor: session.identity,
            at: now,
            details: {
              outageId: id,
              lengthMs,
              previousOffersEndAt: schedule.offersEndAt.toISOString(),
              offersEndAt: longer.offersEndAt.toISOString(),
            },
          },
        },
        now,
      );
      await appendAudit(tx, ctx.clock, {
        actor: session.identity,
        action: 'procurement.extended_for_outage',
        target: `procurement:${row.id}`,
        details: { outageId: id, lengthMs, offersEndAt: longer.offersEndAt.toISOString() },
      });
      extended.push({ procurementId: row.id, offersEndAt: longer.offersEndAt, reopened });
    }
    return { id, startsAt, endsAt, reason, declaredAt: now, extended, notReopened };
  });
}

export async function listOutages(
  db: Queryable,
): Promise<Omit<OutageView, 'extended' | 'notReopened'>[]> {
  const found = await db.query<{
    id: string;
    starts_at: Date;
    ends_at: Date;
    reason: string;
    declared_at: Date;
  }>(
    `SELECT id, starts_at, ends_at, reason, declared_at FROM outage
      ORDER BY starts_at DESC LIMIT 200`,
  );
  return found.rows.map((row) => ({
    id: row.id,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    reason: row.reason,
    declaredAt: row.declared_at,
  }));
}
