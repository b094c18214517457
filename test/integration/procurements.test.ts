// Plans and announcements through the real HTTP layer with signed documents, and the chronograph
// moving them on exactly once, in order, on one node or several.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { workingCalendar } from '../../src/domain/calendar.js';
import { methodOf } from '../../src/domain/procurement-methods.js';
import { minimumSchedule } from '../../src/domain/procurement-schedule.js';
import { advanceDue } from '../../src/services/chronograph.js';
import { migrate } from '../../src/store/migrate.js';
import { linkAll } from '../support/audit.js';
import { describeEachDatabase } from '../support/databases.js';
import type { TestDatabase } from '../support/databases.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { registerCompany } from '../support/participants.js';
import type { Company } from '../support/participants.js';
import { nonce, sign } from '../support/signing.js';
import {
  HOUR,
  approvedPlan,
  approvedPlanOnce,
  draft,
  moveTo,
  planItem,
  post,
  published,
  signed,
  view,
} from '../support/procurements.js';

const calendar = workingCalendar();

describeEachDatabase('procurements', (fresh, driver) => {
  let t: TestApp;
  let company: Company;
  let nodes: TestDatabase;
  const tender = methodOf('public', 'tender')!;

  before(async () => {
    nodes = await fresh();
    const db = await nodes.open();
    await migrate(db);
    t = await testApp(db);
    company = await registerCompany(t);
  });

  test('publication fixes the schedule from the working-day rules and the table', async () => {
    const publishedAt = t.clock.now();
    const id = await published(t, company);
    const procurement = await view(t, company, id);
    const expected = minimumSchedule(calendar, tender, publishedAt);
    assert.equal(procurement.status, 'published');
    assert.equal(procurement.discussionEndsAt, expected.discussionEndsAt!.toISOString());
    assert.equal(procurement.offersEndAt, expected.offersEndAt.toISOString());
    assert.equal(procurement.reviewEndsAt, expected.reviewEndsAt.toISOString());
    assert.equal(procurement.nextCheck, expected.discussionEndsAt!.toISOString());
    assert.equal(procurement.amount, '4500000.00');
    assert.deepEqual(
      procurement.events.map((event: { kind: string }) => event.kind),
      ['drafted', 'published'],
    );
  });

  test('a deadline earlier than the rules allow is refused; a later one is kept', async () => {
    const itemIds = await approvedPlanOnce(t, company);
    const created = await draft(t, company, [itemIds.shift()!]);
    const id = created.json().procurementId;
    const minimum = minimumSchedule(calendar, tender, t.clock.now());
    const early = await post(
      t.app,
      `/api/v1/procurements/${id}/publication`,
      company.token,
      await signed(t, company, 'procurement.publish', {
        procurementId: id,
        offersEndAt: new Date(minimum.offersEndAt.getTime() - HOUR).toISOString(),
      }),
    );
    assert.equal(early.statusCode, 422, early.body);
    assert.equal(early.json().code, 'procurement.deadline_too_short');
    assert.equal((await view(t, company, id)).status, 'draft', 'a refusal stores nothing');
    const later = new Date(minimum.offersEndAt.getTime() + 48 * HOUR);
    const ok = await post(
      t.app,
      `/api/v1/procurements/${id}/publication`,
      company.token,
      await signed(t, company, 'procurement.publish', {
        procurementId: id,
        offersEndAt: later.toISOString(),
      }),
    );
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((await view(t, company, id)).offersEndAt, later.toISOString());
  });

  test('the chronograph moves a due procurement once, and catches up in order', async () => {
    const id = await published(t, company);
    const before = await view(t, company, id);
    const start = t.clock.now();
    await moveTo(t, new Date(new Date(before.discussionEndsAt).getTime() + 1), company);
    const first = await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
    assert.deepEqual(
      first.filter((step) => step.procurementId === id).map((step) => step.to),
      ['accepting'],
    );
    const again = await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
    assert.equal(again.filter((step) => step.procurementId === id).length, 0, 'exactly once');
    await moveTo(t, new Date(new Date(before.reviewEndsAt).getTime() + HOUR), company);
    const caughtUp = await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
    const steps = caughtUp.filter((step) => step.procurementId === id);
    assert.deepEqual(
      steps.map((step) => step.to),
      ['review', 'results'],
    );
    assert.deepEqual(
      steps.map((step) => step.dueAt.toISOString()),
      [before.offersEndAt, before.reviewEndsAt],
      'each step is recorded at the instant it fell due',
    );
    const after = await view(t, company, id);
    assert.equal(after.status, 'results');
    assert.equal(after.nextCheck, null);
    await moveTo(t, start, company);
  });

  test('an amendment gives suppliers the acceptance period again from the amendment', async () => {
    const id = await published(t, company);
    const before = await view(t, company, id);
    const start = t.clock.now();
    const amendedAt = new Date(new Date(before.offersEndAt).getTime() - 2 * HOUR);
    await moveTo(t, amendedAt, company);
    const documentId = await anyDocumentOf(t, company);
    const amendment = await post(
      t.app,
      `/api/v1/procurements/${id}/amendments`,
      company.token,
      await signed(t, company, 'procurement.amend', {
        procurementId: id,
        documents: [documentId],
      }),
    );
    assert.equal(amendment.statusCode, 200, amendment.body);
    const expected = minimumSchedule(calendar, tender, amendedAt).offersEndAt;
    assert.equal((await view(t, company, id)).offersEndAt, expected.toISOString());
    const shorter = await post(
      t.app,
      `/api/v1/procurements/${id}/amendments`,
      company.token,
      await signed(t, company, 'procurement.amend', {
        procurementId: id,
        documents: [documentId],
        offersEndAt: before.offersEndAt,
      }),
    );
    assert.equal(shorter.statusCode, 422, shorter.body);
    assert.equal(shorter.json().code, 'procurement.deadline_shortened');
    await moveTo(t, start, company);
  });

  test('cancellation needs a reason, ends the schedule, and cannot be repeated', async () => {
    const id = await published(t, company);
    const cancel = async () =>
      post(
        t.app,
        `/api/v1/procurements/${id}/cancellation`,
        company.token,
        await signed(t, company, 'procurement.cancel', {
          procurementId: id,
          reason: 'Потребность отпала',
        }),
      );
    const first = await cancel();
    assert.equal(first.statusCode, 200, first.body);
    const procurement = await view(t, company, id);
    assert.equal(procurement.status, 'cancelled');
    assert.equal(procurement.reason, 'Потребность отпала');
    assert.equal(procurement.nextCheck, null);
    const second = await cancel();
    assert.equal(second.statusCode, 409, second.body);
    assert.equal(second.json().code, 'procurement.wrong_status');
  });

  test('another participant cannot act on the procurement', async () => {
    const id = await published(t, company);
    const other = await registerCompany(t);
    const response = await post(
      t.app,
      `/api/v1/procurements/${id}/cancellation`,
      other.token,
      await signed(t, other, 'procurement.cancel', { procurementId: id, reason: 'чужая' }),
    );
    assert.equal(response.statusCode, 403, response.body);
    assert.equal(response.json().code, 'procurement.not_organizer');
  });

  test('an outage declared by an operator extends acceptance that overlapped it', async () => {
    const id = await published(t, company);
    const before = await view(t, company, id);
    const operator = await registerCompany(t);
    await t.app.ctx.db.query(
      "UPDATE participant SET roles = roles || ARRAY['single_operator'] WHERE id = $1",
      [operator.participantId],
    );
    const start = t.clock.now();
    const deadline = new Date(before.offersEndAt);
    const outage = { startsAt: new Date(deadline.getTime() - 3 * HOUR), lengthMs: 2 * HOUR };
    const endsAt = new Date(outage.startsAt.getTime() + outage.lengthMs);
    await moveTo(t, new Date(deadline.getTime() + HOUR), company, operator);
    await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
    assert.equal((await view(t, company, id)).status, 'review', 'the deadline passed');
    const refused = await post(
      t.app,
      '/api/v1/outages',
      company.token,
      await signed(t, company, 'outage.declare', {
        startsAt: outage.startsAt.toISOString(),
        endsAt: endsAt.toISOString(),
        reason: 'сбой',
      }),
    );
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().code, 'outage.not_operator');
    const declared = await post(
      t.app,
      '/api/v1/outages',
      operator.token,
      await signed(t, operator, 'outage.declare', {
        startsAt: outage.startsAt.toISOString(),
        endsAt: endsAt.toISOString(),
        reason: 'Отказ дата-центра',
      }),
    );
    assert.equal(declared.statusCode, 201, declared.body);
    const after = await view(t, company, id);
    assert.equal(after.offersEndAt, new Date(deadline.getTime() + outage.lengthMs).toISOString());
    assert.equal(after.status, 'accepting', 'acceptance that closed in the outage reopens');
    await linkAll(t.app.ctx.db);
    const audit = await t.app.ctx.db.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM audit_log
        WHERE action = 'procurement.extended_for_outage' AND target = $1`,
      [`procurement:${id}`],
    );
    assert.equal(audit.rows[0]!.n, 1n);
    await moveTo(t, start, company);
  });

  test('a request for price offers over 8,000 MRP a year is refused, split or not', async () => {
    const price = { regime: 'public', method: 'price_request', quantity: '1' };
    const buyer = await registerCompany(t);
    const itemIds = await approvedPlan(t, buyer, [
      planItem({ ...price, ensTru: '170000.000.000001', unitPrice: '20000000.00' }),
      planItem({ ...price, ensTru: '170000.000.000001', unitPrice: '20000000.00' }),
    ]);
    const first = await draft(t, buyer, [itemIds[0]!], { method: 'price_request' });
    assert.equal(first.statusCode, 201, first.body);
    const split = await draft(t, buyer, [itemIds[1]!], { method: 'price_request' });
    assert.equal(split.statusCode, 422, split.body);
    assert.equal(split.json().code, 'procurement.over_limit');
  });

  test('an auction has exactly one lot', async () => {
    const auction = { method: 'auction' };
    const buyer = await registerCompany(t);
    const itemIds = await approvedPlan(t, buyer, [planItem(auction), planItem(auction)]);
    const response = await draft(t, buyer, itemIds, auction);
    assert.equal(response.statusCode, 422, response.body);
    assert.equal(response.json().code, 'procurement.one_lot_only');
  });

  test('a plan amendment is a new signed version; an item being bought stays', async () => {
    const buyer = await registerCompany(t);
    const itemIds = await approvedPlan(t, buyer, [planItem(), planItem()]);
    const created = await draft(t, buyer, [itemIds[0]!]);
    assert.equal(created.statusCode, 201, created.body);
    const planId = (
      await t.app.ctx.db.query<{ plan_id: string }>('SELECT plan_id FROM plan_item WHERE id = $1', [
        itemIds[0],
      ])
    ).rows[0]!.plan_id;
    const amend = async (amendment: object) =>
      post(
        t.app,
        `/api/v1/plans/${planId}/amendments`,
        buyer.token,
        await signed(t, buyer, 'plan.amend', { planId, amendment }),
      );
    const inUse = await amend({ remove: [itemIds[0]] });
    assert.equal(inUse.statusCode, 409, inUse.body);
    assert.equal(inUse.json().code, 'plan.item_in_use');
    const ok = await amend({
      remove: [itemIds[1]],
      add: [planItem({ quantity: '2.5', unitPrice: '100.01' })],
    });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal(ok.json().version, 2);
    const plan = await t.app.inject({
      method: 'GET',
      url: `/api/v1/plans/${planId}`,
      headers: { authorization: `Bearer ${buyer.token}` },
    });
    const items = plan.json().items as { id: string; amount: string }[];
    assert.deepEqual(
      items.map((item) => item.id),
      [itemIds[0], ok.json().added[0]],
    );
    assert.equal(items[1]!.amount, '250.03', '2.5 x 100.01 tenge = 250.025, rounded half up');
  });

  if (driver === 'pg') {
    test('two nodes claiming at once move each due procurement exactly once', async () => {
      const ids = [];
      for (let index = 0; index < 6; index += 1) ids.push(await published(t, company));
      const start = t.clock.now();
      const latest = await view(t, company, ids[ids.length - 1]!);
      await moveTo(t, new Date(new Date(latest.reviewEndsAt).getTime() + HOUR), company);
      const [a, b] = await Promise.all([
        advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing }),
        advanceDue(await nodes.openAnother(), { clock: t.clock, sealing: t.app.ctx.sealing }),
      ]);
      const counts = new Map<string, number>();
      for (const step of [...a, ...b]) {
        counts.set(
          `${step.procurementId}:${step.to}`,
          (counts.get(`${step.procurementId}:${step.to}`) ?? 0) + 1,
        );
      }
      for (const id of ids) {
        for (const to of ['accepting', 'review', 'results']) {
          assert.equal(counts.get(`${id}:${to}`), 1, `${id} -> ${to} once`);
        }
      }
      await moveTo(t, start, company);
    });
  }
});

/** A signed structured document of the company: the amended documentation. */
async function anyDocumentOf(t: TestApp, company: Company): Promise<string> {
  const payload = {
    action: 'document.sign',
    nonce: await nonce(t.app),
    form: 'structured',
    content: { clause: '3.1', text: 'Срок поставки: 30 календарных дней' },
    type: 'procurement.amendment',
    titles: { kk: 'Өзгерістер', ru: 'Изменения в документацию', en: 'Amendment' },
    language: 'ru',
    visibility: 'public',
    participantId: company.participantId,
  };
  const response = await post(t.app, '/api/v1/documents', company.token, {
    payload,
    signature: sign(company.head.sign, payload, t.clock.now()),
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json().documentId;
}
