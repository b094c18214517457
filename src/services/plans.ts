// Procurement plans: a customer drafts its preliminary or annual plan, approves it with a signed
// document, and amends the approved plan only with signed documents, each a new version.
import { randomUUID } from 'node:crypto';
import { UppError } from '../domain/errors.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import { ENDED_UNBOUGHT, methodOf } from '../domain/procurement-methods.js';
import type { Regime } from '../domain/procurement-methods.js';
import type { Queryable } from '../store/database.js';
import { appendAudit } from './audit.js';
import type { Session } from './auth.js';
import { actingParticipant, signedAction } from './participants.js';
import type { ParticipantContext } from './participants.js';
import { payloadText } from './signed-document.js';
import type { SignedRequest } from './signed-document.js';

export const FUNDING_SOURCES = [
  'republican_budget',
  'local_budget',
  'own_funds',
  'grant',
  'loan',
  'other',
] as const;

export interface PlanItemInput {
  ensTru: string;
  names: { kk: string; ru: string; en: string };
  unit: string;
  /** Up to three decimals, e.g. "12.5". */
  quantity: string;
  /** Tenge without VAT, up to two decimals, e.g. "1250.50". */
  unitPrice: string;
  month: number;
  kato: string;
  deliveryPlace: string;
  fundingSource: (typeof FUNDING_SOURCES)[number];
  regime: Regime;
  method: string;
}

export interface PlanAmendment {
  add?: PlanItemInput[];
  change?: ({ itemId: string } & Partial<PlanItemInput>)[];
  remove?: string[];
}

interface PlanRow {
  id: string;
  customer_participant_id: string;
  year: number;
  kind: 'preliminary' | 'annual';
  status: 'draft' | 'approved';
  version: number;
}

const QUANTITY = /^\d{1,15}(\.\d{1,3})?$/;

function refuse(code: string, status: number, message: string): never {
  throw new UppError(code, status, message);
}

/** quantity x unit price in tiyn, rounded half up to a whole tiyn. */
export function itemAmount(quantity: string, unitPrice: bigint): bigint {
  if (!QUANTITY.test(quantity) || /^0+(\.0+)?$/.test(quantity)) {
    refuse('plan.bad_quantity', 422, `quantity ${quantity} is not a positive number`);
  }
  const [whole, fraction = ''] = quantity.split('.');
  const thousandths = BigInt(whole!) * 1000n + BigInt(fraction.padEnd(3, '0'));
  return (thousandths * unitPrice + 500n) / 1000n;
}

function priceOf(unitPrice: string): bigint {
  return parseAmount(unitPrice);
}

function checkItem(item: Partial<PlanItemInput>): void {
  if (item.regime !== undefined && item.method !== undefined) {
    if (methodOf(item.regime, item.method) === undefined) {
      refuse('plan.bad_method', 422, `${item.regime} has no method ${item.method}`);
    }
  }
  if (item.unitPrice !== undefined && priceOf(item.unitPrice) <= 0n) {
    refuse('plan.bad_price', 422, 'a unit price is positive');
  }
}

async function lockPlan(tx: Queryable, id: string): Promise<PlanRow> {
  const found = await tx.query<PlanRow>(
    `SELECT id, customer_participant_id, year, kind, status, version FROM plan
      WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const row = found.rows[0];
  if (row === undefined) refuse('plan.not_found', 404, `no plan ${id}`);
  return row;
}

async function insertItem(
  tx: Queryable,
  planId: string,
  number: number,
  item: PlanItemInput,
  now: Date,
): Promise<string> {
  checkItem(item);
  const id = randomUUID();
  await tx.query(
    `INSERT INTO plan_item (id, plan_id, number, ens_tru, name_kk, name_ru, name_en, unit,
       quantity, unit_price, amount, month, kato, delivery_place, funding_source, regime, method,
       created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
       $18)`,
    [
      id,
      planId,
      number,
      item.ensTru,
      item.names.kk,
      item.names.ru,
      item.names.en,
      item.unit,
      item.quantity,
      priceOf(item.unitPrice),
      itemAmount(item.quantity, priceOf(item.unitPrice)),
      item.month,
      item.kato,
      item.deliveryPlace,
      item.fundingSource,
      item.regime,
      item.method,
      now,
    ],
  );
  return id;
}

async function nextItemNumber(tx: Queryable, planId: string): Promise<number> {
  const found = await tx.query<{ n: number }>(
    'SELECT coalesce(max(number), 0) + 1 AS n FROM plan_item WHERE plan_id = $1',
    [planId],
  );
  return found.rows[0]!.n;
}

/** A new draft plan with its items; one plan per customer, year and kind. */
export async function draftPlan(
  ctx: ParticipantContext,
  session: Session,
  request: {
    participantId: string;
    year: number;
    kind: 'preliminary' | 'annual';
    items: PlanItemInput[];
  },
): Promise<{ planId: string; itemIds: string[] }> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (tx) => {
    const acting = await actingParticipant(tx, session, request.participantId);
    if (!acting.roles.includes('customer')) {
      refuse('plan.not_customer', 403, 'only a customer keeps a procurement plan');
    }
    const planId = randomUUID();
    const created = await tx.query(
      `INSERT INTO plan (id, customer_participant_id, year, kind, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'draft', $5, $5) ON CONFLICT DO NOTHING`,
      [planId, request.participantId, request.year, request.kind, now],
    );
    if (created.rowCount === 0) {
      refuse('plan.exists', 409, `a ${request.kind} plan for ${request.year} exists already`);
    }
    const itemIds: string[] = [];
    for (const [index, item] of request.items.entries()) {
      itemIds.push(await insertItem(tx, planId, index + 1, item, now));
    }
    await appendAudit(tx, ctx.clock, {
      actor: session.identity,
      action: 'plan.drafted',
      target: `plan:${planId}`,
      details: { year: request.year, kind: request.kind, items: itemIds.length },
    });
    return { planId, itemIds };
  });
}

function planIdOf(request: SignedRequest, planId: string): void {
  if (request.payload.planId !== planId) {
    refuse('document.wrong_target', 400, 'the signed payload names another plan');
  }
}

async function itemsSnapshot(tx: Queryable, planId: string): Promise<Record<string, unknown>[]> {
  const found = await tx.query<Record<string, unknown> & { unit_price: bigint; amount: bigint }>(
    `SELECT id, number, ens_tru, name_ru, unit, quantity::text AS quantity, unit_price, amount,
            month, kato, funding_source, regime, method
       FROM plan_item WHERE plan_id = $1 AND status = 'active' ORDER BY number`,
    [planId],
  );
  return found.rows.map((row) => ({
    ...row,
    unit_price: formatAmount(row.unit_price),
    amount: formatAmount(row.amount),
  }));
}

/** Approval: the signed document fixes the plan's items as version 1. */
export async function approvePlan(
  ctx: ParticipantContext,
  session: Session,
  planId: string,
  request: SignedRequest,
): Promise<{ version: number }> {
  planIdOf(request, planId);
  const participantId = payloadText(request.payload, 'participantId');
  const spec = { action: 'plan.approve', participantId, actionClass: 'other' } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    const plan = await lockPlan(tx, planId);
    if (plan.customer_participant_id !== participantId) {
      refuse('plan.not_found', 404, `no plan ${planId}`);
    }
    if (plan.status !== 'draft') refuse('plan.already_approved', 409, 'the plan is approved');
    const items = await itemsSnapshot(tx, planId);
    if (items.length === 0) refuse('plan.empty', 422, 'a plan is approved with its items');
    await tx.query(
      `UPDATE plan SET status = 'approved', version = 1, approved_at = $2, updated_at = $2
        WHERE id = $1`,
      [planId, now],
    );
    await tx.query(
      `INSERT INTO plan_change (id, plan_id, version, kind, document_id, changes, at)
       VALUES ($1, $2, 1, 'approval', $3, $4, $5)`,
      [randomUUID(), planId, documentId, JSON.stringify({ items }), now],
    );
    return { version: 1 };
  });
}

async function changeItem(
  tx: Queryable,
  planId: string,
  change: { itemId: string } & Partial<PlanItemInput>,
  now: Date,
): Promise<void> {
  checkItem(change);
  const found = await tx.query<{ quantity: string; unit_price: bigint }>(
    `SELECT quantity::text AS quantity, unit_price FROM plan_item
      WHERE id = $1 AND plan_id = $2 AND status = 'active' FOR UPDATE`,
    [change.itemId, planId],
  );
  const current = found.rows[0];
  if (current === undefined) refuse('plan.item_not_found', 422, `no item ${change.itemId}`);
  await refuseInUse(tx, change.itemId);
  const quantity = change.quantity ?? current.quantity;
  const unitPrice = change.unitPrice === undefined ? current.unit_price : priceOf(change.unitPrice);
  await tx.query(
    `UPDATE plan_item SET quantity = $3, unit_price = $4, amount = $5,
            month = coalesce($6, month), kato = coalesce($7, kato),
            delivery_place = coalesce($8, delivery_place),
            funding_source = coalesce($9, funding_source), method = coalesce($10, method),
            updated_at = $11
      WHERE id = $1 AND plan_id = $2`,
    [
      change.itemId,
      planId,
      quantity,
      unitPrice,
      itemAmount(quantity, unitPrice),
      change.month ?? null,
      change.kato ?? null,
      change.deliveryPlace ?? null,
      change.fundingSource ?? null,
      change.method ?? null,
      now,
    ],
  );
}

/** An item being bought in a live procurement is not changed under it. */
async function refuseInUse(tx: Queryable, itemId: string): Promise<void> {
  const used = await tx.query(
    `SELECT 1 FROM lot l JOIN procurement p ON p.id = l.procurement_id
      WHERE l.plan_item_id = $1 AND p.status <> ALL ($2) LIMIT 1`,
    [itemId, ENDED_UNBOUGHT],
  );
  if (used.rows.length > 0) {
    refuse('plan.item_in_use', 409, `item ${itemId} is in a procurement; cancel that first`);
  }
}

/** An amendment of an approved plan: added, changed and removed items as one new version. */
export async function amendPlan(
  ctx: ParticipantContext,
  session: Session,
  planId: string,
  request: SignedRequest,
): Promise<{ version: number; added: string[] }> {
  planIdOf(request, planId);
  const participantId = payloadText(request.payload, 'participantId');
  const amendment = (request.payload.amendment ?? {}) as PlanAmendment;
  const spec = { action: 'plan.amend', participantId, actionClass: 'other' } as const;
  return signedAction(ctx, session, request, spec, async (tx, _acting, documentId, now) => {
    const plan = await lockPlan(tx, planId);
    if (plan.customer_participant_id !== participantId) {
      refuse('plan.not_found', 404, `no plan ${planId}`);
    }
    if (plan.status !== 'approved') {
      refuse('plan.not_approved', 409, 'a draft plan is edited, not amended');
    }
    const changes = [amendment.add, amendment.change, amendment.remove].filter(
      (list) => list !== undefined && list.length > 0,
    );
    if (changes.length === 0) refuse('plan.amendment_empty', 422, 'the amendment changes nothing');
    const added: string[] = [];
    let number = await nextItemNumber(tx, planId);
    for (const item of amendment.add ?? []) {
      added.push(await insertItem(tx, planId, number, item, now));
      number += 1;
    }
    for (const change of amendment.change ?? []) await changeItem(tx, planId, change, now);
    for (const itemId of amendment.remove ?? []) {
      await refuseInUse(tx, itemId);
      const removed = await tx.query(
        `UPDATE plan_item SET status = 'removed', updated_at = $3
          WHERE id = $1 AND plan_id = $2 AND status = 'active'`,
        [itemId, planId, now],
      );
      if (removed.rowCount === 0) refuse('plan.item_not_found', 422, `no item ${itemId}`);
    }
    const version = plan.version + 1;
    await tx.query('UPDATE plan SET version = $2, updated_at = $3 WHERE id = $1', [
      planId,
      version,
      now,
    ]);
    await tx.query(
      `INSERT INTO plan_change (id, plan_id, version, kind, document_id, changes, at)
       VALUES ($1, $2, $3, 'amendment', $4, $5, $6)`,
      [
        randomUUID(),
        planId,
        version,
        documentId,
        JSON.stringify({ amendment: request.payload.amendment, added }),
        now,
      ],
    );
    return { version, added };
  });
}

export interface PlanView {
  id: string;
  customerParticipantId: string;
  year: number;
  kind: string;
  status: string;
  version: number;
  items: Record<string, unknown>[];
  changes: { version: number; kind: string; documentId: string; at: Date }[];
}

/** A plan with its items and versions, drafts included, for the customer's own users. */
export async function ownPlan(db: Queryable, session: Session, planId: string): Promise<PlanView> {
  const found = await db.query<PlanRow>(
    `SELECT p.id, p.customer_participant_id, p.year, p.kind, p.status, p.version FROM plan p
      WHERE p.id = $1 AND EXISTS (SELECT 1 FROM membership m WHERE m.user_id = $2
        AND m.participant_id = p.customer_participant_id AND m.removed_at IS NULL)`,
    [planId, session.userId],
  );
  const plan = found.rows[0];
  if (plan === undefined) refuse('plan.not_found', 404, `no plan ${planId}`);
  const changes = await db.query<{ version: number; kind: string; document_id: string; at: Date }>(
    'SELECT version, kind, document_id, at FROM plan_change WHERE plan_id = $1 ORDER BY version',
    [planId],
  );
  return {
    id: plan.id,
    customerParticipantId: plan.customer_participant_id,
    year: plan.year,
    kind: plan.kind,
    status: plan.status,
    version: plan.version,
    items: await itemsSnapshot(db, planId),
    changes: changes.rows.map((row) => ({
      version: row.version,
      kind: row.kind,
      documentId: row.document_id,
      at: row.at,
    })),
  };
}
