// Plans and announcements for HTTP tests: a company's approved plan, drafts and publications,
// signed as a client would sign them, and a clock that moves with sessions renewed.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { balance, deposit } from '../../src/services/wallet.js';
import type { TestApp } from './app.js';
import type { Company } from './participants.js';
import { logIn, nonce, sign } from './signing.js';

export const HOUR = 60 * 60 * 1000;

/** Moves the clock; sessions do not survive days, so the companies log in again. */
export async function moveTo(t: TestApp, at: Date, ...companies: Company[]): Promise<void> {
  t.clock.set(at);
  for (const company of companies) {
    company.token = await logIn(t.app, company.head.auth, at);
  }
}

export function planItem(extra: Record<string, unknown> = {}) {
  return {
    ensTru: '262011.000.000001',
    names: {
      kk: 'Портативті компьютер',
      ru: 'Компьютер портативный (ноутбук)',
      en: 'Laptop computer',
    },
    unit: '796',
    quantity: '10',
    unitPrice: '450000.00',
    month: 4,
    kato: '751110000',
    deliveryPlace: 'Алматы, ул. Толе би, 100',
    fundingSource: 'republican_budget',
    regime: 'public',
    method: 'tender',
    ...extra,
  };
}

export async function post(
  app: FastifyInstance,
  url: string,
  token: string,
  payload: object,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url,
    headers: { authorization: `Bearer ${token}`, ...headers },
    payload,
  });
}

/** Signs `fields` as `action` for the company with a fresh nonce, as a client would. */
export async function signed(t: TestApp, company: Company, action: string, fields: object) {
  const payload = {
    action,
    nonce: await nonce(t.app),
    participantId: company.participantId,
    ...fields,
  };
  return { payload, signature: sign(company.head.sign, payload, t.clock.now()) };
}

/** An approved plan with the given items; answers the item ids. */
export async function approvedPlan(
  t: TestApp,
  company: Company,
  items: object[],
): Promise<string[]> {
  const year = Number(t.clock.now().toISOString().slice(0, 4));
  const draft = await post(t.app, '/api/v1/plans', company.token, {
    participantId: company.participantId,
    year,
    kind: 'annual',
    items,
  });
  assert.equal(draft.statusCode, 201, draft.body);
  const { planId, itemIds } = draft.json();
  const approval = await post(
    t.app,
    `/api/v1/plans/${planId}/approval`,
    company.token,
    await signed(t, company, 'plan.approve', { planId }),
  );
  assert.equal(approval.statusCode, 201, approval.body);
  return itemIds;
}

export async function draft(t: TestApp, company: Company, itemIds: string[], extra: object = {}) {
  return post(t.app, '/api/v1/procurements', company.token, {
    participantId: company.participantId,
    regime: 'public',
    method: 'tender',
    titles: { kk: 'Ноутбуктер сатып алу', ru: 'Закупка ноутбуков', en: 'Purchase of laptops' },
    lots: itemIds.map((planItemId) => ({ planItemId })),
    ...extra,
  });
}

const plans = new WeakMap<Company, string[]>();

/** The company's one annual plan of 40 laptop items, approved on first use. */
export async function approvedPlanOnce(t: TestApp, company: Company): Promise<string[]> {
  let items = plans.get(company);
  if (items === undefined) {
    items = await approvedPlan(
      t,
      company,
      Array.from({ length: 40 }, (_, index) => planItem({ month: 1 + (index % 12) })),
    );
    plans.set(company, items);
  }
  return items;
}

/** A tender of one lot from the company's plan, published now; answers its id. */
export async function published(t: TestApp, company: Company, extra: object = {}) {
  const itemIds = await approvedPlanOnce(t, company);
  const created = await draft(t, company, [itemIds.shift()!], extra);
  assert.equal(created.statusCode, 201, created.body);
  const id: string = created.json().procurementId;
  await publish(t, company, id);
  return id;
}

/** Publishes the company's drafted procurement, signed; it must be accepted. */
export async function publish(t: TestApp, company: Company, id: string): Promise<void> {
  const publication = await post(
    t.app,
    `/api/v1/procurements/${id}/publication`,
    company.token,
    await signed(t, company, 'procurement.publish', { procurementId: id }),
  );
  assert.equal(publication.statusCode, 200, publication.body);
}

/** The procurement as its organizer's users see it. */
export async function view(t: TestApp, company: Company, id: string) {
  const response = await t.app.inject({
    method: 'GET',
    url: `/api/v1/procurements/${id}`,
    headers: { authorization: `Bearer ${company.token}` },
  });
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

/** The first lot of a procurement. */
export async function lotOf(t: TestApp, procurementId: string): Promise<string> {
  const found = await t.app.ctx.db.query<{ id: string }>(
    'SELECT id FROM lot WHERE procurement_id = $1 ORDER BY number LIMIT 1',
    [procurementId],
  );
  return found.rows[0]!.id;
}

/** A signed application of one priced lot secured from the wallet, with extra payload fields. */
export async function submitOffer(
  t: TestApp,
  supplier: Company,
  procurementId: string,
  price: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
) {
  const lotId = await lotOf(t, procurementId);
  return post(
    t.app,
    `/api/v1/procurements/${procurementId}/applications`,
    supplier.token,
    await signed(t, supplier, 'application.submit', {
      procurementId,
      lots: [{ lotId, price, security: { kind: 'wallet' } }],
      ...extra,
    }),
    headers,
  );
}

/** Money on the supplier's wallet, as an imported bank statement leaves it. */
export async function fund(t: TestApp, supplier: Company, tenge: bigint): Promise<void> {
  await t.app.ctx.db.transaction((tx) =>
    deposit(tx, {
      participantId: supplier.participantId,
      amount: tenge * 100n,
      reference: `bank:test:${randomUUID()}`,
      at: t.clock.now(),
      actor: 'test',
    }),
  );
}

export async function available(t: TestApp, supplier: Company): Promise<bigint> {
  return (await balance(t.app.ctx.db, supplier.participantId)).available;
}
