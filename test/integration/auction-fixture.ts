// Auctions for HTTP tests: the real app with the auction routes, and an auction procurement
// brought to `auction_pending` the way suppliers and the chronograph bring it there.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { workingCalendar } from '../../src/domain/calendar.js';
import { fixedClock } from '../../src/domain/time.js';
import { buildApp } from '../../src/http/app.js';
import { auctionRoutes } from '../../src/http/routes/auctions.js';
import { advanceDue } from '../../src/services/chronograph.js';
import { createPlatformPki, pkiSettingsFromEnv } from '../../src/services/pki.js';
import { WrappingKey } from '../../src/services/sealing.js';
import { deposit } from '../../src/services/wallet.js';
import type { Database } from '../../src/store/database.js';
import { VECTORS } from '../support/app.js';
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

const dataDir = mkdtempSync(join(tmpdir(), 'upp-test-auction-'));

/** The real app as testApp builds it, with the auction routes unless app.ts has them already. */
export async function auctionApp(
  db: Database,
  start = '2026-03-02T04:00:00.000Z',
  sealing = WrappingKey.fromBytes(randomBytes(32)),
): Promise<TestApp> {
  const env = {
    NODE_ENV: 'test',
    UPP_DATA_DIR: dataDir,
    UPP_PKI_TRUST: 'demo,test',
    UPP_PKI_TEST_TRUST_DIR: join(VECTORS, 'ca'),
  };
  const config = loadConfig(env);
  const clock = fixedClock(start);
  const pki = await createPlatformPki(pkiSettingsFromEnv(env, config), clock);
  const app = await buildApp(
    { config, db, clock, pki, calendar: workingCalendar(), sealing },
    { logger: false },
  );
  if (!app.hasRoute({ method: 'GET', url: '/api/v1/auctions/:auctionId' })) {
    await app.register(auctionRoutes, { prefix: '/api/v1' });
  }
  await app.ready();
  return { app, clock, config, pki };
}

/** Money on the supplier's wallet for the application security. */
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

/**
 * An auction of one lot (4,500,000.00) published now, an application per supplier with its
 * price, the deadline and the review passed: the procurement waits for its auction.
 */
export async function auctionPending(
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
  await moveTo(t, new Date(new Date(reviewed.reviewEndsAt).getTime() + 1), ...companies);
  await advanceDue(t.app.ctx.db, chronograph);
  assert.equal((await view(t, customer, procurementId)).status, 'auction_pending');
  return { procurementId, lotId };
}
