// Demo data on both drivers: the seeded rows satisfy the schema and the domain rules (valid BINs,
// every method, many regions, statuses that follow the schedules at `now`), and seeding is once.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { workingCalendar } from '../../src/domain/calendar.js';
import { isValidBin } from '../../src/domain/identity.js';
import { PROCUREMENT_METHODS, methodOf } from '../../src/domain/procurement-methods.js';
import type { ProcurementStatus } from '../../src/domain/procurement-methods.js';
import { minimumSchedule, nextCheck } from '../../src/domain/procurement-schedule.js';
import { REGIONS, seedDemoData } from '../../src/services/demo-data.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { describeEachDatabase } from '../support/databases.js';

const NOW = new Date('2026-03-02T04:00:00.000Z');
const DAY_MS = 86_400_000;
const calendar = workingCalendar();
const options = { procurements: 200, now: NOW, calendar, ocidPrefix: 'ocds-upp001' };

interface ProcurementRow {
  id: string;
  number: string;
  ocid: string;
  regime: 'public' | 'quasi_public';
  method: string;
  status: ProcurementStatus;
  customer_bin: string;
  kato_region: string;
  amount: bigint;
  published_at: Date;
  discussion_ends_at: Date | null;
  offers_end_at: Date;
  review_ends_at: Date;
  next_check: Date | null;
  next_mark: string | null;
  reason: string | null;
}

const OPEN: readonly ProcurementStatus[] = ['published', 'accepting', 'awaiting_agreement'];
const AFTER_REVIEW: readonly ProcurementStatus[] = [
  'auction_pending',
  'results',
  'completed',
  'appeal',
];

async function count(db: Database, table: string): Promise<number> {
  const result = await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(result.rows[0]!.n);
}

describeEachDatabase('demo data', (fresh) => {
  let db: Database;
  let seeded: { procurements: number; lots: number };
  let procurements: ProcurementRow[];

  before(async () => {
    db = await (await fresh()).open();
    await migrate(db);
    seeded = await seedDemoData(db, options);
    procurements = (await db.query<ProcurementRow>('SELECT * FROM procurement ORDER BY number'))
      .rows;
  });

  test('seeding 200 procurements inserts them with their lots', async () => {
    assert.equal(seeded.procurements, 200);
    assert.equal(procurements.length, 200);
    assert.equal(await count(db, 'lot'), seeded.lots);
    const perProcurement = await db.query<{ n: bigint; auction: boolean }>(
      `SELECT count(*) AS n, bool_or(p.method = 'auction') AS auction
         FROM lot l JOIN procurement p ON p.id = l.procurement_id GROUP BY p.id`,
    );
    assert.equal(perProcurement.rows.length, 200);
    for (const row of perProcurement.rows) {
      assert.ok(row.n >= 1n && row.n <= 8n, `${row.n} lots`);
      if (row.auction) assert.equal(row.n, 1n, 'an auction has one lot');
    }
  });

  test('numbers come from the sequence and ocids carry the prefix', () => {
    for (const p of procurements) {
      assert.match(p.number, /^2026-\d{6}$/);
      assert.equal(p.ocid, `ocds-upp001-${p.number}`);
    }
    const serials = procurements.map((p) => Number(p.number.slice(5))).sort((a, b) => a - b);
    assert.deepEqual(
      serials,
      Array.from({ length: 200 }, (_, index) => index + 1),
    );
  });

  test('every method of both regimes occurs, and many regions', () => {
    for (const method of PROCUREMENT_METHODS) {
      assert.ok(
        procurements.some((p) => p.regime === method.regime && p.method === method.code),
        `${method.regime} ${method.code}`,
      );
    }
    const codes = new Set(REGIONS.map((region) => region.code));
    const regions = new Set(procurements.map((p) => p.kato_region));
    for (const region of regions) assert.ok(codes.has(region), region);
    assert.ok(regions.size >= 15, `${regions.size} regions`);
  });

  test('statuses and the chronograph marks follow the schedules at now', () => {
    for (const p of procurements) {
      const method = methodOf(p.regime, p.method);
      assert.ok(method !== undefined, `${p.regime} ${p.method}`);
      const schedule = minimumSchedule(calendar, method, p.published_at);
      assert.deepEqual(
        [p.discussion_ends_at, p.offers_end_at, p.review_ends_at],
        [schedule.discussionEndsAt ?? null, schedule.offersEndAt, schedule.reviewEndsAt],
        p.number,
      );
      assert.ok(p.published_at <= NOW && p.published_at.getTime() > NOW.getTime() - 43 * DAY_MS);
      const where = `${p.number} ${p.method} ${p.status}`;
      if (OPEN.includes(p.status)) assert.ok(p.offers_end_at > NOW, where);
      if (p.status === 'published') assert.ok(schedule.discussionEndsAt! > NOW, where);
      if (p.status === 'review') {
        assert.ok(p.offers_end_at <= NOW && p.review_ends_at > NOW, where);
      }
      if (AFTER_REVIEW.includes(p.status)) assert.ok(p.review_ends_at <= NOW, where);
      if (p.status === 'cancelled') assert.ok(p.reason !== null, where);
      const due = nextCheck(method, p.status, schedule);
      assert.deepEqual([p.next_check, p.next_mark], [due?.at ?? null, due?.mark ?? null], where);
      if (p.next_check !== null) assert.ok(p.next_check > NOW, `${where}: overdue`);
    }
    const statuses = new Set(procurements.map((p) => p.status));
    for (const status of ['accepting', 'review', 'completed'] as const) {
      assert.ok(statuses.has(status), status);
    }
  });

  test('lots carry the filter columns of their procurement and valid codes', async () => {
    const lots = await db.query<{
      mismatch: boolean;
      ens_tru: string;
      kato: string;
      kato_region: string;
      amount: bigint;
      unit_price: bigint;
      quantity: string;
    }>(
      `SELECT (l.regime, l.method, l.status, l.customer_bin, l.published_at, l.offers_end_at)
                IS DISTINCT FROM
              (p.regime, p.method, p.status, p.customer_bin, p.published_at, p.offers_end_at)
                AS mismatch,
              l.ens_tru, l.kato, l.kato_region, l.amount, l.unit_price, l.quantity::text
         FROM lot l JOIN procurement p ON p.id = l.procurement_id`,
    );
    for (const lot of lots.rows) {
      assert.equal(lot.mismatch, false);
      assert.match(lot.ens_tru, /^\d{6}\.\d{3}\.\d{6}$/);
      assert.match(lot.kato, /^\d{9}$/);
      assert.equal(lot.kato.slice(0, 2), lot.kato_region);
      assert.equal(lot.amount, BigInt(lot.quantity.replace('.000', '')) * lot.unit_price);
    }
    const sums = await db.query<{ differ: bigint }>(
      `SELECT count(*) AS differ FROM procurement p
        WHERE p.amount <> (SELECT sum(amount) FROM lot WHERE procurement_id = p.id)`,
    );
    assert.equal(sums.rows[0]!.differ, 0n);
  });

  test('customers have valid BINs and names in Russian and Kazakh', async () => {
    const participants = await db.query<{ bin: string; name_ru: string; name_kk: string }>(
      'SELECT bin, name_ru, name_kk FROM participant',
    );
    assert.ok(participants.rows.length >= 50);
    for (const p of participants.rows) {
      assert.ok(isValidBin(p.bin), p.bin);
      assert.match(p.name_ru, /[А-Яа-я]/);
      assert.ok(p.name_kk !== p.name_ru, p.name_ru);
    }
    for (const p of procurements) assert.ok(isValidBin(p.customer_bin));
    const institutions = await count(db, 'participant_category');
    assert.ok(institutions > 0);
  });

  test('lots come from approved annual plans of their customer', async () => {
    const unplanned = await db.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM lot l JOIN procurement p ON p.id = l.procurement_id
         LEFT JOIN plan_item i ON i.id = l.plan_item_id LEFT JOIN plan n ON n.id = i.plan_id
        WHERE i.id IS NULL OR i.ens_tru <> l.ens_tru OR i.amount <> l.amount
           OR n.customer_participant_id <> p.customer_participant_id OR n.status <> 'approved'
           OR n.approved_at > p.published_at`,
    );
    assert.equal(unplanned.rows[0]!.n, 0n);
  });

  test('each procurement has its published event; a few suppliers are unreliable', async () => {
    const events = await db.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM procurement_event e JOIN procurement p ON p.id = e.procurement_id
        WHERE e.kind = 'published' AND e.at = p.published_at`,
    );
    assert.equal(events.rows[0]!.n, 200n);
    const register = await db.query<{ included_at: Date; excluded_at: Date; bin: string }>(
      'SELECT included_at, excluded_at, bin FROM unreliable_supplier',
    );
    assert.ok(register.rows.length >= 3 && register.rows.length <= 10);
    for (const row of register.rows) {
      assert.ok(isValidBin(row.bin));
      assert.ok(row.included_at < NOW);
      const months =
        (row.excluded_at.getUTCFullYear() - row.included_at.getUTCFullYear()) * 12 +
        row.excluded_at.getUTCMonth() -
        row.included_at.getUTCMonth();
      assert.equal(months, 24);
    }
  });

  test('a second seeding adds nothing', async () => {
    const before = await Promise.all(
      ['participant', 'procurement', 'lot'].map((t) => count(db, t)),
    );
    assert.deepEqual(await seedDemoData(db, options), { procurements: 0, lots: 0 });
    const after = await Promise.all(['participant', 'procurement', 'lot'].map((t) => count(db, t)));
    assert.deepEqual(after, before);
  });

  test('the same seed gives the same procurements; another seed others', async () => {
    const summary = async (target: Database) =>
      (
        await target.query<{ line: string }>(
          `SELECT number || ' ' || method || ' ' || status || ' ' || amount AS line
             FROM procurement ORDER BY number`,
        )
      ).rows.map((row) => row.line);
    const again = await (await fresh()).open();
    await migrate(again);
    await seedDemoData(again, options);
    assert.deepEqual(await summary(again), await summary(db));
    const other = await (await fresh()).open();
    await migrate(other);
    await seedDemoData(other, { ...options, seed: 7 });
    assert.notDeepEqual(await summary(other), await summary(db));
  });
});
