// Announcements: an organizer drafts a procurement from approved plan items, then publishes,
// amends, cancels or refuses it with signed documents. State changes go through
// procurement-state.ts, the same code the chronograph runs.
import { randomUUID } from 'node:crypto';
import type { WorkingCalendar } from '../domain/calendar.js';
import { UppError } from '../domain/errors.js';
import { mrpAmount, parseAmount } from '../domain/money.js';
import { ENDED_UNBOUGHT, isOpenForOffers, methodOf } from '../domain/procurement-methods.js';
import type {
  MethodCode,
  ProcurementMethod,
  Regime,
  Titles,
} from '../domain/procurement-methods.js';
import { extendForAmendment, scheduleAtPublication } from '../domain/procurement-schedule.js';
import type { Schedule } from '../domain/procurement-schedule.js';
import { astanaLocalDate } from '../domain/time.js';
import type { Queryable } from '../store/database.js';
import { createProcurementKey } from './applications.js';
import { appendAudit } from './audit.js';
import type { Session } from './auth.js';
import { actingParticipant, signedAction } from './participants.js';
import type { ParticipantContext } from './participants.js';
import {
  applyTransition,
  lockProcurement,
  methodOfRow,
  notFound,
  recordEvent,
  scheduleOf,
} from './procurement-state.js';
import type { ProcurementRow } from './procurement-state.js';
import type { WrappingKey } from './sealing.js';
import { payloadInstant, payloadText } from './signed-document.js';
import type { SignedRequest } from './signed-document.js';

export interface ProcurementContext extends ParticipantContext {
  calendar: WorkingCalendar;
  ocidPrefix: string;
  /** Wraps the key pair each procurement gets at publication for its sealed offers. */
  sealing: WrappingKey;
}

export interface QualificationRequirement {
  code: string;
  text: { kk: string; ru: string };
}

export interface DraftRequest {
  /** The organizer, for whom the session's user acts. */
  participantId: string;
  /** The customer whose plan items are bought; the organizer itself when absent. */
  customerParticipantId?: string;
  regime: Regime;
  operatorParticipantId?: string;
  /** The supplier a single-source procurement invites. */
  invitedParticipantId?: string;
  method: MethodCode;
  titles: Titles;
  /** Application security as a percentage with up to two decimals; the method's by default. */
  securityPercent?: string;
  qualification?: QualificationRequirement[];
  lots: { planItemId: string; deliveryPlace?: string }[];
}

interface PlanItemRow {
  id: string;
  plan_status: string;
  customer_participant_id: string;
  year: number;
  ens_tru: string;
  name_kk: string;
  name_ru: string;
  name_en: string;
  unit: string;
  quantity: string;
  unit_price: bigint;
  amount: bigint;
  kato: string;
  delivery_place: string;
  regime: Regime;
  method: string;
  status: string;
  in_use: boolean;
}

function refuse(code: string, status: number, message: string): never {
  throw new UppError(code, status, message);
}

function securityBasisPoints(method: ProcurementMethod, percent: string | undefined): number {
  if (percent === undefined) return method.securityBasisPoints;
  const basisPoints = Number(parseAmount(percent));
  if (basisPoints > 10_000) refuse('procurement.bad_security', 422, 'security is at most 100%');
  return basisPoints;
}

async function planItems(tx: Queryable, ids: readonly string[]): Promise<Map<string, PlanItemRow>> {
  const found = await tx.query<PlanItemRow>(
    `SELECT i.id, p.status AS plan_status, p.customer_participant_id, p.year, i.ens_tru,
            i.name_kk, i.name_ru, i.name_en, i.unit, i.quantity::text AS quantity, i.unit_price,
            i.amount, i.kato, i.delivery_place, i.regime, i.method, i.status,
            EXISTS (SELECT 1 FROM lot l JOIN procurement r ON r.id = l.procurement_id
                     WHERE l.plan_item_id = i.id AND r.status <> ALL ($2)) AS in_use
       FROM plan_item i JOIN plan p ON p.id = i.plan_id
      WHERE i.id = ANY ($1::uuid[])`,
    [ids, ENDED_UNBOUGHT],
  );
  return new Map(found.rows.map((row) => [row.id, row]));
}

function checkPlanItem(
  item: PlanItemRow | undefined,
  id: string,
  request: DraftRequest,
  customerId: string,
): PlanItemRow {
  if (item === undefined) refuse('plan.item_not_found', 422, `no plan item ${id}`);
  if (item.plan_status !== 'approved' || item.status !== 'active') {
    refuse('plan.item_not_approved', 422, `plan item ${id} is not in an approved plan`);
  }
  if (item.customer_participant_id !== customerId) {
    refuse('plan.item_other_customer', 422, `plan item ${id} belongs to another customer`);
  }
  if (item.regime !== request.regime || item.method !== request.method) {
    refuse('plan.item_other_method', 422, `plan item ${id} is planned for another method`);
  }
  if (item.in_use) refuse('plan.item_in_use', 409, `plan item ${id} is already being bought`);
  return item;
}

/** A request for price offers may not exceed its ceiling, even split into several purchases. */
async function checkCeiling(
  tx: Queryable,
  method: ProcurementMethod,
  customerId: string,
  items: readonly PlanItemRow[],
): Promise<void> {
  if (method.maxMrp === undefined) return;
  for (const item of items) {
    const ceiling = mrpAmount(method.maxMrp, item.year);
    const earlier = await tx.query<{ total: bigint | null }>(
      `SELECT sum(l.amount)::bigint AS total FROM lot l
         JOIN procurement p ON p.id = l.procurement_id
         JOIN plan_item i ON i.id = l.plan_item_id JOIN plan n ON n.id = i.plan_id
        WHERE p.customer_participant_id = $1 AND p.method = $2 AND l.ens_tru = $3
          AND n.year = $4 AND p.status <> ALL ($5)`,
      [customerId, method.code, item.ens_tru, item.year, ENDED_UNBOUGHT],
    );
    const sameGoods = items.filter((other) => other.ens_tru === item.ens_tru);
    const total = sameGoods.reduce(
      (sum, other) => sum + other.amount,
      earlier.rows[0]?.total ?? 0n,
    );
    if (total > ceiling) {
      refuse(
        'procurement.over_limit',
        422,
        `${method.code} is limited to ${method.maxMrp} MRP a year for ${item.ens_tru}`,
      );
    }
  }
}

async function operatorFor(tx: Queryable, request: DraftRequest): Promise<string | null> {
  const role = request.regime === 'public' ? 'single_operator' : 'operator';
  const found = await tx.query<{ id: string }>(
    `SELECT id FROM participant WHERE $1 = ANY (roles) AND status = 'active'
        AND ($2::uuid IS NULL OR id = $2) ORDER BY registered_at LIMIT 1`,
    [role, request.operatorParticipantId ?? null],
  );
  const id = found.rows[0]?.id;
  if (id === undefined && request.regime === 'quasi_public') {
    refuse('procurement.operator_required', 422, 'a quasi-public procurement names its operator');
  }
  return id ?? null;
}

/** A single-source procurement names the potential supplier it invites; others name none. */
async function invitedFor(
  tx: Queryable,
  method: ProcurementMethod,
  request: DraftRequest,
): Promise<string | null> {
  if (!method.invitation) {
    if (request.invitedParticipantId !== undefined) {
      refuse('procurement.invitation_unexpected', 422, `an ${method.code} invites nobody`);
    }
    return null;
  }
  if (request.invitedParticipantId === undefined) {
    refuse('procurement.invitation_required', 422, 'a single-source procurement invites one');
  }
  const found = await tx.query<{ roles: string[] }>(
    "SELECT roles FROM participant WHERE id = $1 AND status = 'active'",
    [request.invitedParticipantId],
  );
  if (!(found.rows[0]?.roles ?? []).includes('potential_supplier')) {
    refuse('procurement.invited_not_supplier', 422, 'invite a registered potential supplier');
  }
  return request.invitedParticipantId;
}

async function customerBin(tx: Queryable, customerId: string): Promise<string | null> {
  const found = await tx.query<{ bin: string | null; roles: string[] }>(
    'SELECT bin, roles FROM participant WHERE id = $1',
    [customerId],
  );
  const row = found.rows[0];
  if (row === undefined || !row.roles.includes('customer')) {
    refuse('procurement.not_customer', 422, 'the customer must be a participant in that role');
  }
  return row.bin;
}

async function nextNumber(tx: Queryable, now: Date): Promise<string> {
  const found = await tx.query<{ n: bigint }>("SELECT nextval('procurement_number_seq') AS n");
  const year = astanaLocalDate(now).slice(0, 4);
  return `${year}-${String(found.rows[0]!.n).padStart(6, '0')}`;
}

/** Creates a draft announcement; nothing is public until it is published. */
export async function draftProcurement(
  ctx: ProcurementContext,
  session: Session,
  request: DraftRequest,
): Promise<{ procurementId: string; number: string }> {
  const method = methodOf(request.regime, request.method);
  if (method === undefined) {
    refuse('procurement.method_unknown', 422, `${request.regime} has no method ${request.method}`);
  }
  if (method.oneLot && request.lots.length !== 1) {
    refuse('procurement.one_lot_only', 422, `an ${method.code} has exactly one lot`);
  }
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const acting = await actingParticipant(tx, session, request.participantId);
    const customerId = request.customerParticipantId ?? request.participantId;
    const organizerRole = customerId === request.participantId ? 'customer' : 'organizer';
    if (!acting.roles.includes(organizerRole)) {
      refuse('procurement.not_organizer', 403, `organizing this needs the role ${organizerRole}`);
    }
    const bin = await customerBin(tx, customerId);
    const found = await planItems(
      tx,
      request.lots.map((lot) => lot.planItemId),
    );
    const items = request.lots.map((lot) =>
      checkPlanItem(found.get(lot.planItemId), lot.planItemId, request, customerId),
    );
    if (new Set(items.map((item) => item.id)).size !== items.length) {
      refuse('procurement.duplicate_lot', 422, 'a plan item can be one lot only');
    }
    await checkCeiling(tx, method, customerId, items);
    const operatorId = await operatorFor(tx, request);
    const invitedId = await invitedFor(tx, method, request);
    const id = randomUUID();
    const number = await nextNumber(tx, now);
    const amount = items.reduce((sum, item) => sum + item.amount, 0n);
    await tx.query(
      `INSERT INTO procurement (id, number, ocid, regime, operator_participant_id, method,
         customer_participant_id, organizer_participant_id, customer_bin, title_kk, title_ru,
         title_en, status, security_basis_points, qualification, amount, kato_region,
         created_at, updated_at, invited_participant_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'draft', $13, $14, $15, $16,
         $17, $17, $18)`,
      [
        id,
        number,
        `${ctx.ocidPrefix}-${number}`,
        request.regime,
        operatorId,
        method.code,
        customerId,
        request.participantId,
        bin,
        request.titles.kk,
        request.titles.ru,
        request.titles.en,
        securityBasisPoints(method, request.securityPercent),
        JSON.stringify(request.qualification ?? []),
        amount,
        items[0]!.kato.slice(0, 2),
        now,
        invitedId,
      ],
    );
    for (const [index, item] of items.entries()) {
      await insertLot(tx, id, index + 1, item, request, bin);
    }
    await recordEvent(tx, id, { kind: 'drafted', at: now, actor: session.identity });
    await appendAudit(tx, ctx.clock, {
      actor: session.identity,
      action: 'procurement.drafted',
      target: `procurement:${id}`,
      details: { number, method: method.code, regime: request.regime },
    });
    return { procurementId: id, number };
  });
}

async function insertLot(
  tx: Queryable,
  procurementId: string,
  number: number,
  item: PlanItemRow,
  request: DraftRequest,
  bin: string | null,
): Promise<void> {
  const deliveryPlace = request.lots[number - 1]?.deliveryPlace ?? item.delivery_place;
  await tx.query(
    `INSERT INTO lot (id, procurement_id, number, plan_item_id, ens_tru, title_kk, title_ru,
       title_en, unit, quantity, unit_price, amount, kato, delivery_place, regime, method, status,
       customer_bin, kato_region)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 'draft', $17,
       $18)`,
    [
      randomUUID(),
      procurementId,
      number,
      item.id,
      item.ens_tru,
      item.name_kk,
      item.name_ru,
      item.name_en,
      item.unit,
      item.quantity,
      item.unit_price,
      item.amount,
      item.kato,
      deliveryPlace,
      request.regime,
      request.method,
      bin,
      item.kato.slice(0, 2),
    ],
  );
}

/** The organizer's documents, attached in order; each must be the organizer's or customer's. */
async function attachDocuments(
  tx: Queryable,
  row: ProcurementRow,
  ids: unknown,
  role: 'documentation' | 'amendment',
  now: Date,
): Promise<string[]> {
  const list = Array.isArray(ids) ? (ids as unknown[]) : [];
  if (!list.every((id) => typeof id === 'string')) {
    refuse('document.invalid', 400, 'documents are a list of document ids');
  }
  const owned = await tx.query<{ id: string }>(
    `SELECT id FROM document WHERE id = ANY ($1::uuid[]) AND participant_id IN ($2, $3)`,
    [list, row.organizer_participant_id, row.customer_participant_id],
  );
  if (owned.rows.length !== new Set(list).size) {
    refuse('procurement.document_not_found', 422, 'attach documents of the organizer only');
  }
  for (const id of list as string[]) {
    await tx.query(
      `INSERT INTO procurement_document (procurement_id, document_id, role, attached_at)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [row.id, id, role, now],
    );
  }
  return list as string[];
}

type SignedProcurementAction = 'publish' | 'amend' | 'cancel' | 'refuse';

/**
 * The frame of a signed action on a procurement: the signer acts for the organizer, the payload
 * names this procurement, and the row stays locked until the action's transaction commits.
 */
async function procurementAction<T>(
  ctx: ProcurementContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
  action: SignedProcurementAction,
  work: (tx: Queryable, row: ProcurementRow, documentId: string, now: Date) => Promise<T>,
): Promise<T> {
  if (request.payload.procurementId !== procurementId) {
    refuse('document.wrong_target', 400, 'the signed payload names another procurement');
  }
  const participantId = payloadText(request.payload, 'participantId');
  const spec = { action: `procurement.${action}`, participantId, actionClass: 'other' } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    const row = await lockProcurement(tx, procurementId);
    if (row.organizer_participant_id !== participantId) {
      refuse('procurement.not_organizer', 403, 'only the organizer acts on this procurement');
    }
    return work(tx, row, documentId, now);
  });
}

export async function publishProcurement(
  ctx: ProcurementContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
): Promise<{ status: string; schedule: Schedule }> {
  return procurementAction(
    ctx,
    session,
    procurementId,
    request,
    'publish',
    async (tx, row, doc, now) => {
      const method = methodOfRow(row);
      const schedule = scheduleAtPublication(ctx.calendar, method, now, {
        offersEndAt: payloadInstant(request.payload, 'offersEndAt'),
      });
      const documents = await attachDocuments(
        tx,
        row,
        request.payload.documents,
        'documentation',
        now,
      );
      await createProcurementKey(tx, ctx.sealing, row.id, now);
      const status = await applyTransition(
        tx,
        row,
        {
          trigger: { action: 'publish' },
          schedule,
          change: {
            kind: 'published',
            actor: session.identity,
            at: now,
            documentId: doc,
            details: { documents },
          },
        },
        now,
      );
      return { status, schedule };
    },
  );
}

/**
 * An amendment of the documentation while offers are accepted: suppliers get the acceptance
 * period again from the amendment, and the organizer may lengthen the deadline further.
 */
export async function amendProcurement(
  ctx: ProcurementContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
): Promise<{ schedule: Schedule }> {
  return procurementAction(
    ctx,
    session,
    procurementId,
    request,
    'amend',
    async (tx, row, doc, now) => {
      const current = scheduleOf(row);
      if (current === undefined || !isOpenForOffers(row.status) || current.offersEndAt <= now) {
        refuse('procurement.wrong_status', 409, 'only a procurement accepting offers is amended');
      }
      const method = methodOfRow(row);
      let schedule = extendForAmendment(ctx.calendar, method, current, now);
      const wanted = payloadInstant(request.payload, 'offersEndAt');
      if (wanted !== undefined && wanted.getTime() < current.offersEndAt.getTime()) {
        refuse('procurement.deadline_shortened', 422, 'the deadline can only be lengthened');
      }
      if (wanted !== undefined && wanted.getTime() > schedule.offersEndAt.getTime()) {
        schedule = scheduleAtPublication(ctx.calendar, method, current.publishedAt, {
          offersEndAt: wanted,
        });
        schedule = { ...schedule, discussionEndsAt: current.discussionEndsAt };
      }
      const documents = await attachDocuments(tx, row, request.payload.documents, 'amendment', now);
      if (documents.length === 0) {
        refuse('procurement.amendment_empty', 422, 'an amendment attaches the amended documents');
      }
      await applyTransition(
        tx,
        row,
        {
          trigger: undefined,
          schedule,
          change: {
            kind: 'amended',
            actor: session.identity,
            at: now,
            documentId: doc,
            details: {
              documents,
              previousOffersEndAt: current.offersEndAt.toISOString(),
              offersEndAt: schedule.offersEndAt.toISOString(),
            },
          },
        },
        now,
      );
      return { schedule };
    },
  );
}

/** Cancellation (before the deadline) or refusal (before the results), with a reason. */
export async function endProcurement(
  ctx: ProcurementContext,
  session: Session,
  procurementId: string,
  request: SignedRequest,
  how: 'cancel' | 'refuse',
): Promise<{ status: string }> {
  return procurementAction(ctx, session, procurementId, request, how, async (tx, row, doc, now) => {
    const reason = payloadText(request.payload, 'reason');
    const status = await applyTransition(
      tx,
      row,
      {
        trigger: { action: how },
        schedule: scheduleOf(row),
        change: {
          kind: how === 'cancel' ? 'cancelled' : 'refused',
          actor: session.identity,
          at: now,
          documentId: doc,
          reason,
          details: { reason },
        },
      },
      now,
    );
    return { status };
  });
}

export interface ProcurementView {
  id: string;
  number: string;
  ocid: string;
  regime: string;
  method: string;
  status: string;
  customerParticipantId: string;
  organizerParticipantId: string;
  titles: Titles;
  securityBasisPoints: number;
  amount: bigint;
  publishedAt: Date | null;
  discussionEndsAt: Date | null;
  offersEndAt: Date | null;
  reviewEndsAt: Date | null;
  nextCheck: Date | null;
  reason: string | null;
  version: number;
  lots: { id: string; number: number; planItemId: string | null; amount: bigint; status: string }[];
  events: { kind: string; at: Date; actor: string; documentId: string | null }[];
}

/** The whole procurement, drafts included, for users of its organizer or customer. */
export async function ownProcurement(
  db: Queryable,
  session: Session,
  id: string,
): Promise<ProcurementView> {
  const found = await db.query<Record<string, unknown>>(
    `SELECT p.* FROM procurement p
      WHERE p.id = $1 AND EXISTS (
        SELECT 1 FROM membership m WHERE m.user_id = $2 AND m.removed_at IS NULL
           AND m.participant_id IN (p.organizer_participant_id, p.customer_participant_id))`,
    [id, session.userId],
  );
  const row = found.rows[0];
  if (row === undefined) throw notFound(id);
  const lots = await db.query<{
    id: string;
    number: number;
    plan_item_id: string | null;
    amount: bigint;
    status: string;
  }>(
    `SELECT id, number, plan_item_id, amount, status FROM lot
      WHERE procurement_id = $1 ORDER BY number`,
    [id],
  );
  const events = await db.query<{
    kind: string;
    at: Date;
    actor: string;
    document_id: string | null;
  }>(
    `SELECT kind, at, actor, document_id FROM procurement_event
      WHERE procurement_id = $1 ORDER BY id`,
    [id],
  );
  return {
    id,
    number: row.number as string,
    ocid: row.ocid as string,
    regime: row.regime as string,
    method: row.method as string,
    status: row.status as string,
    customerParticipantId: row.customer_participant_id as string,
    organizerParticipantId: row.organizer_participant_id as string,
    titles: { kk: row.title_kk as string, ru: row.title_ru as string, en: row.title_en as string },
    securityBasisPoints: row.security_basis_points as number,
    amount: row.amount as bigint,
    publishedAt: row.published_at as Date | null,
    discussionEndsAt: row.discussion_ends_at as Date | null,
    offersEndAt: row.offers_end_at as Date | null,
    reviewEndsAt: row.review_ends_at as Date | null,
    nextCheck: row.next_check as Date | null,
    reason: row.reason as string | null,
    version: row.version as number,
    lots: lots.rows.map((lot) => ({
      id: lot.id,
      number: lot.number,
      planItemId: lot.plan_item_id,
      amount: lot.amount,
      status: lot.status,
    })),
    events: events.rows.map((event) => ({
      kind: event.kind,
      at: event.at,
      actor: event.actor,
      documentId: event.document_id,
    })),
  };
}
