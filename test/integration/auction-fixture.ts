// Auctions for HTTP tests: an auction procurement brought to its review the way suppliers and
// the chronograph bring it there, and the chronograph opening its auction when the review ends.
import assert from 'node:assert/strict';
import { formatAmount } from '../../src/domain/money.js';
import type { OpenedAuction } from '../../src/services/auctions.js';
import { advanceDue } from '../../src/services/chronograph.js';
import type { TestApp } from '../support/app.js';
import type { Company } from '../support/participants.js';
import {
  approvedPlan,
  draft,
  moveTo,
  planItem,
  post,
  signed,
  view,
} from '../support/procurements.js';

const plans = new WeakMap<Company, string[]>();

/** An unused item of the customer's one annual plan, planned for auctions (approved once). */
async function auctionItem(t: TestApp, customer: Company): Promise<string> {
  let items = plans.get(customer);
  if (items === undefined) {
    const item = planItem({ method: 'auction' });
    items = await approvedPlan(
      t,
      customer,
      Array.from({ length: 12 }, () => item),
    );
    plans.set(customer, items);
  }
  const next = items.shift();
  assert.ok(next !== undefined, 'the plan has items left');
  return next;
}

const reviews = new Map<string, { companies: Company[]; endsAt: Date }>();

/**
 * Ends the review of a procurement from `inReview`: the chronograph moves it to its auction and
 * opens it. Answers its auctions not answered before.
 */
export async function openByChronograph(
  t: TestApp,
  procurementId: string,
): Promise<OpenedAuction[]> {
  const review = reviews.get(procurementId);
  if (review !== undefined && t.clock.now() <= review.endsAt) {
    await moveTo(t, new Date(review.endsAt.getTime() + 1), ...review.companies);
  }
  await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
  const opened = (await auctionsOf(t, procurementId)).filter(
    (auction) => !answered.has(auction.auctionId),
  );
  for (const auction of opened) answered.add(auction.auctionId);
  return opened;
}

/** Auctions already answered, so asking again for a procurement opens nothing new. */
const answered = new Set<string>();

async function auctionsOf(t: TestApp, procurementId: string): Promise<OpenedAuction[]> {
  const found = await t.app.ctx.db.query<{
    id: string;
    lot_id: string;
    starting_price: bigint;
    starts_at: Date;
    ends_at: Date;
    participants: bigint | number;
  }>(
    `SELECT a.id, a.lot_id, a.starting_price, a.starts_at, a.ends_at,
            (SELECT count(*) FROM auction_participant p WHERE p.auction_id = a.id) AS participants
       FROM auction a JOIN lot l ON l.id = a.lot_id WHERE l.procurement_id = $1`,
    [procurementId],
  );
  return found.rows.map((row) => ({
    auctionId: row.id,
    lotId: row.lot_id,
    startingPrice: formatAmount(row.starting_price),
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    participants: Number(row.participants),
  }));
}

/**
 * An auction of one lot (4,500,000.00) published now, an application per supplier with its
 * price, the deadline and the review passed: the procurement waits for its auction.
 */
export async function inReview(
  t: TestApp,
  customer: Company,
  offers: readonly (readonly [Company, string])[],
): Promise<{ procurementId: string; lotId: string }> {
  const created = await draft(t, customer, [await auctionItem(t, customer)], {
    method: 'auction',
  });
  assert.equal(created.statusCode, 201, created.body);
  const procurementId: string = created.json().procurementId;
  const publication = await post(
    t.app,
    `/api/v1/procurements/${procurementId}/publication`,
    customer.token,
    await signed(t, customer, 'procurement.publish', { procurementId }),
  );
  assert.equal(publication.statusCode, 200, publication.body);
  const lot = await t.app.ctx.db.query<{ id: string }>(
    'SELECT id FROM lot WHERE procurement_id = $1',
    [procurementId],
  );
  const lotId = lot.rows[0]!.id;
  const card = await view(t, customer, procurementId);
  const companies = [customer, ...offers.map(([supplier]) => supplier)];
  await moveTo(t, new Date(new Date(card.offersEndAt).getTime() - 60_000), ...companies);
  for (const [supplier, price] of offers) {
    const submitted = await post(
      t.app,
      `/api/v1/procurements/${procurementId}/applications`,
      supplier.token,
      await signed(t, supplier, 'application.submit', {
        procurementId,
        lots: [{ lotId, price, security: { kind: 'wallet' } }],
      }),
    );
    assert.equal(submitted.statusCode, 201, submitted.body);
    t.clock.advance(1_000);
  }
  const chronograph = { clock: t.clock, sealing: t.app.ctx.sealing };
  await moveTo(t, new Date(new Date(card.offersEndAt).getTime() + 1), ...companies);
  await advanceDue(t.app.ctx.db, chronograph);
  const reviewed = await view(t, customer, procurementId);
  assert.equal(reviewed.status, 'review');
  reviews.set(procurementId, { companies, endsAt: new Date(reviewed.reviewEndsAt) });
  return { procurementId, lotId };
}
