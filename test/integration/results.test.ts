// Results over real HTTP and signatures: the organizer admits or rejects opened offers with
// reasons, and when the review ends the chronograph publishes the winner of every lot.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { advanceDue } from '../../src/services/chronograph.js';
import type { Release } from '../../src/services/ocds.js';
import { balance } from '../../src/services/wallet.js';
import { migrate } from '../../src/store/migrate.js';
import { describeEachDatabase } from '../support/databases.js';
import { assertValidRelease, partiesOf } from '../support/ocds.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { registerCompany } from '../support/participants.js';
import type { Company } from '../support/participants.js';
import {
  HOUR,
  approvedPlan,
  available,
  draft,
  fund,
  lotOf,
  moveTo,
  planItem,
  post,
  publish,
  published,
  signed,
  submitOffer,
  view,
} from '../support/procurements.js';

interface OcdsAward {
  status: string;
  suppliers: { id: string; name: string }[];
  value?: { amount: number; currency: string };
}

describeEachDatabase('results', (fresh) => {
  let t: TestApp;
  let customer: Company;
  const suppliers: Company[] = [];

  before(async () => {
    const db = await (await fresh()).open();
    await migrate(db);
    t = await testApp(db);
    customer = await registerCompany(t);
    for (let index = 0; index < 3; index += 1) {
      const supplier = await registerCompany(t);
      await fund(t, supplier, 1_000_000n);
      suppliers.push(supplier);
    }
  });

  const chronograph = () =>
    advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
  const everyone = () => [customer, ...suppliers];

  async function winnerOf(procurementId: string) {
    const found = await t.app.ctx.db.query<{ bin: string | null; price: bigint; bidders: number }>(
      `SELECT p.bin, r.winner_price AS price, r.bidders FROM lot_result r
         LEFT JOIN application a ON a.id = r.winner_application_id
         LEFT JOIN participant p ON p.id = a.supplier_participant_id
        WHERE r.procurement_id = $1`,
      [procurementId],
    );
    return found.rows[0];
  }

  async function latestRelease(procurementId: string): Promise<Release> {
    const found = await t.app.ctx.db.query<{ release: Release }>(
      `SELECT release FROM ocds_release WHERE procurement_id = $1
        ORDER BY seq DESC LIMIT 1`,
      [procurementId],
    );
    return found.rows[0]!.release;
  }

  test('tender: a domestic producer wins on conditional price; rejects have reasons', async () => {
    const start = t.clock.now();
    const id = await published(t, customer);
    const [a, b, c] = suppliers as [Company, Company, Company];
    const before = await available(t, c);
    await submitOffer(t, a, id, '4000000.00');
    await submitOffer(t, b, id, '4400000.00', {}, { qualification: { domestic_producer: true } });
    await submitOffer(t, c, id, '4300000.00');
    const schedule = await view(t, customer, id);
    await moveTo(t, new Date(new Date(schedule.offersEndAt).getTime() + 1), ...everyone());
    await chronograph();
    const opened = await t.app.inject({
      method: 'GET',
      url: `/api/v1/procurements/${id}/applications`,
      headers: { authorization: `Bearer ${customer.token}` },
    });
    assert.equal(opened.statusCode, 200, opened.body);
    const applications = opened.json().items as {
      applicationId: string;
      supplier: { participantId: string };
    }[];
    assert.equal(applications.length, 3);
    const of = (supplier: Company) =>
      applications.find((one) => one.supplier.participantId === supplier.participantId)!
        .applicationId;
    const decide = async (decisions: object[]) =>
      post(
        t.app,
        `/api/v1/procurements/${id}/admissions`,
        customer.token,
        await signed(t, customer, 'admission.decide', { procurementId: id, decisions }),
      );
    const lotId = await lotOf(t, id);
    const [first, second, third] = [of(a), of(b), of(c)];
    const bare = await decide([{ applicationId: third, lotId, admitted: false }]);
    assert.equal(bare.statusCode, 422, bare.body);
    assert.equal(bare.json().code, 'admission.reason_required');
    const decided = await decide([
      { applicationId: first, lotId, admitted: true },
      { applicationId: second, lotId, admitted: true },
      {
        applicationId: third,
        lotId,
        admitted: false,
        reasons: [{ code: 'qualification.experience', text: 'Нет опыта поставки' }],
      },
    ]);
    assert.equal(decided.statusCode, 200, decided.body);
    await moveTo(t, new Date(new Date(schedule.reviewEndsAt).getTime() + 1), ...everyone());
    await chronograph();
    const winner = await winnerOf(id);
    assert.deepEqual(winner, { bin: b.bin, price: 440000000n, bidders: 2 });
    assert.equal((await view(t, customer, id)).status, 'results');
    assert.equal(await available(t, c), before, 'the rejected bidder gets its money back');
    const card = await t.app.inject(`/api/v1/public/procurements/${id}`);
    const protocol = card
      .json()
      .history.find((event: { kind: string }) => event.kind === 'results_published');
    assert.equal(protocol.details.lots[0].winner.bin, b.bin);
    assert.equal(protocol.details.lots[0].winner.conditionalPrice, '3520000.00');
    await moveTo(t, start, ...everyone());
  });

  test('a price request: the lowest price wins, a tie goes to the earlier offer', async () => {
    const start = t.clock.now();
    const buyer = await registerCompany(t);
    const price = { method: 'price_request', quantity: '1', unitPrice: '900000.00' };
    const [itemId] = await approvedPlan(t, buyer, [planItem(price)]);
    const created = await draft(t, buyer, [itemId!], { method: 'price_request' });
    const id = created.json().procurementId as string;
    await publish(t, buyer, id);
    const [a, b, c] = suppliers as [Company, Company, Company];
    await submitOffer(t, a, id, '850000.00');
    await moveTo(t, new Date(t.clock.now().getTime() + 60_000), ...everyone());
    await submitOffer(t, b, id, '800000.00');
    await moveTo(t, new Date(t.clock.now().getTime() + 60_000), ...everyone());
    await submitOffer(t, c, id, '800000.00');
    const schedule = await view(t, buyer, id);
    await moveTo(t, new Date(new Date(schedule.reviewEndsAt).getTime() + HOUR), ...everyone());
    await chronograph();
    assert.deepEqual(await winnerOf(id), { bin: b.bin, price: 80000000n, bidders: 3 });
    await moveTo(t, start, ...everyone(), buyer);
  });

  test('a winner who declines the contract keeps no security and enters the register', async () => {
    const start = t.clock.now();
    const buyer = await registerCompany(t);
    const winner = await registerCompany(t);
    await fund(t, winner, 1_000_000n);
    const price = { method: 'price_request', quantity: '1', unitPrice: '900000.00' };
    const [itemId] = await approvedPlan(t, buyer, [planItem(price)]);
    const created = await draft(t, buyer, [itemId!], { method: 'price_request' });
    const id = created.json().procurementId as string;
    await publish(t, buyer, id);
    const lotId = await lotOf(t, id);
    const runnerUp = suppliers[0]!;
    const before = { winner: await available(t, winner), runnerUp: await available(t, runnerUp) };
    assert.equal((await submitOffer(t, winner, id, '700000.00')).statusCode, 201);
    assert.equal((await submitOffer(t, runnerUp, id, '750000.00')).statusCode, 201);
    const decline = async (company: Company, target = lotId) =>
      post(
        t.app,
        `/api/v1/procurements/${id}/lots/${target}/contract-refusal`,
        company.token,
        await signed(t, company, 'contract.decline', {
          procurementId: id,
          lotId: target,
          reason: 'Не можем поставить товар в срок',
        }),
      );
    const early = await decline(winner);
    assert.equal(early.statusCode, 409, early.body);
    assert.equal(early.json().code, 'procurement.wrong_status');

    const schedule = await view(t, buyer, id);
    await moveTo(
      t,
      new Date(new Date(schedule.reviewEndsAt).getTime() + HOUR),
      ...everyone(),
      winner,
      buyer,
    );
    await chronograph();
    assert.equal((await winnerOf(id))?.bin, winner.bin);
    const security = (900000n * 100n * 3n) / 100n;
    assert.equal(await available(t, winner), before.winner - security, 'the winner stays held');

    const awarded = await latestRelease(id);
    assert.ok(awarded.tag.includes('award'), awarded.tag.join());
    assertValidRelease(awarded, 'the release of the results');
    const [award] = awarded.awards as unknown as OcdsAward[];
    assert.equal(award?.status, 'active');
    assert.deepEqual(
      award?.suppliers.map((one) => one.id),
      [`KZ-BIN-${winner.bin}`],
    );
    assert.deepEqual(award?.value, { amount: 700000, currency: 'KZT' });
    const supplier = partiesOf(awarded).find((party) => party.id === `KZ-BIN-${winner.bin}`);
    assert.deepEqual(supplier?.roles, ['supplier']);

    const stranger = await decline(runnerUp);
    assert.equal(stranger.statusCode, 403, stranger.body);
    assert.equal(stranger.json().code, 'contract.not_winner');
    const declined = await decline(winner);
    assert.equal(declined.statusCode, 200, declined.body);
    assert.equal(declined.json().security.kind, 'wallet');
    const money = await balance(t.app.ctx.db, winner.participantId);
    assert.equal(money.retained, security, 'the security is retained');
    assert.equal(money.available, before.winner - security, 'and never comes back');
    assert.equal(
      await available(t, runnerUp),
      before.runnerUp - security,
      "the runner-up's security stays held: it may yet be invited",
    );
    const cancelled = await latestRelease(id);
    assert.deepEqual(cancelled.tag, ['awardCancellation']);
    assertValidRelease(cancelled, 'the release of the evasion');
    assert.equal((cancelled.awards as unknown as OcdsAward[])[0]?.status, 'cancelled');
    const again = await decline(winner);
    assert.equal(again.statusCode, 409, again.body);
    assert.equal(again.json().code, 'contract.already_declined');

    const register = await t.app.inject({
      method: 'GET',
      url: `/api/v1/public/unreliable-suppliers?q=${winner.bin}`,
    });
    const [entry] = register.json().items;
    assert.equal(entry.bin, winner.bin);
    assert.equal(entry.procurementId, id);
    const until = new Date(declined.json().evadedAt);
    until.setUTCMonth(until.getUTCMonth() + 24);
    assert.equal(entry.excludedAt, until.toISOString(), '24 months by default');
    const page = await t.app.inject({ method: 'GET', url: `/api/v1/public/procurements/${id}` });
    const evaded = page
      .json()
      .history.find((event: { kind: string }) => event.kind === 'winner_evaded');
    assert.equal(evaded?.details.bin, winner.bin);
    await moveTo(t, start, ...everyone(), buyer, winner);
  });

  test('single source: the invited supplier agrees, acceptance closes, it wins', async () => {
    const start = t.clock.now();
    const buyer = await registerCompany(t);
    const [a, b] = suppliers as [Company, Company];
    const [itemId] = await approvedPlan(t, buyer, [planItem({ method: 'single_source' })]);
    const uninvited = await draft(t, buyer, [itemId!], { method: 'single_source' });
    assert.equal(uninvited.json().code, 'procurement.invitation_required', uninvited.body);
    const created = await draft(t, buyer, [itemId!], {
      method: 'single_source',
      invitedParticipantId: a.participantId,
    });
    assert.equal(created.statusCode, 201, created.body);
    const id = created.json().procurementId as string;
    await publish(t, buyer, id);
    assert.equal((await view(t, buyer, id)).status, 'awaiting_agreement');
    const other = await submitOffer(t, b, id, '4000000.00');
    assert.equal(other.statusCode, 403, other.body);
    assert.equal(other.json().code, 'application.not_invited');
    const agreement = await submitOffer(t, a, id, '4450000.00');
    assert.equal(agreement.statusCode, 201, agreement.body);
    assert.equal((await view(t, buyer, id)).offersEndAt, agreement.json().receivedAt);
    await chronograph();
    const schedule = await view(t, buyer, id);
    assert.equal(schedule.status, 'review');
    await moveTo(t, new Date(new Date(schedule.reviewEndsAt).getTime() + 1), ...everyone(), buyer);
    await chronograph();
    assert.deepEqual(await winnerOf(id), { bin: a.bin, price: 445000000n, bidders: 1 });
    await moveTo(t, start, ...everyone(), buyer);
  });

  test('a tender nobody was admitted to has no winner', async () => {
    const start = t.clock.now();
    const id = await published(t, customer);
    await submitOffer(t, suppliers[0]!, id, '4000000.00');
    const schedule = await view(t, customer, id);
    await moveTo(t, new Date(new Date(schedule.reviewEndsAt).getTime() + HOUR), ...everyone());
    await chronograph();
    assert.deepEqual(await winnerOf(id), { bin: null, price: null, bidders: 0 });
    await moveTo(t, start, ...everyone());
  });
});
