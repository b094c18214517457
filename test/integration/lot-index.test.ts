// The in-memory lot index answers every search exactly as the database search does, page for
// page, and follows changes: the chronograph's moves, new procurements, and (on the server) a
// transaction that commits after a later one, on PGlite and on PostgreSQL.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { workingCalendar } from '../../src/domain/calendar.js';
import {
  METHOD_CODES,
  PROCUREMENT_STATUSES,
  REGIMES,
} from '../../src/domain/procurement-methods.js';
import { advanceDue } from '../../src/services/chronograph.js';
import {
  DemoRandom,
  allParticipants,
  demoParties,
  demoProcurements,
  insertParticipants,
  insertProcurements,
  seedDemoData,
} from '../../src/services/demo-data.js';
import type { DemoProcurement } from '../../src/services/demo-data.js';
import { LotIndex } from '../../src/services/lot-index.js';
import { recordRelease } from '../../src/services/ocds.js';
import { searchLots } from '../../src/services/public-viewing.js';
import type { Language, SearchFilters } from '../../src/services/public-viewing.js';
import { WrappingKey } from '../../src/services/sealing.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';

const NOW = new Date('2026-03-02T04:00:00.000Z');
const calendar = workingCalendar();
const sealing = WrappingKey.fromBytes(new Uint8Array(32).fill(7));

interface Sample {
  words: string[];
  bins: string[];
  regions: string[];
  ens: string[];
  amounts: bigint[];
  instants: string[];
}

async function sample(db: Database): Promise<Sample> {
  const lots = await db.query<{
    title_ru: string;
    title_kk: string;
    customer_bin: string;
    kato_region: string;
    ens_tru: string;
    amount: bigint;
    published_at: Date;
    offers_end_at: Date | null;
  }>('SELECT * FROM lot WHERE published_at IS NOT NULL');
  const words = new Set<string>();
  for (const lot of lots.rows) {
    for (const word of `${lot.title_ru} ${lot.title_kk}`.split(/[^\p{L}\d]+/u)) {
      if (word.length > 2) words.add(word.toLowerCase());
    }
  }
  const instants = lots.rows.flatMap((lot) => [
    lot.published_at,
    lot.offers_end_at ?? lot.published_at,
  ]);
  return {
    words: [...words].sort(),
    bins: [...new Set(lots.rows.map((lot) => lot.customer_bin))].sort(),
    regions: [...new Set(lots.rows.map((lot) => lot.kato_region))].sort(),
    ens: [...new Set(lots.rows.map((lot) => lot.ens_tru))].sort(),
    amounts: lots.rows.map((lot) => lot.amount).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    instants: instants.map((instant) => instant.toISOString()).sort(),
  };
}

function pick<T>(random: DemoRandom, values: readonly T[]): T {
  return values[Math.floor(random.next() * values.length)]!;
}

/** A search a visitor might make: a few of the filters, some words in several forms. */
function randomSearch(random: DemoRandom, data: Sample): SearchFilters {
  const filters: SearchFilters = {};
  const maybe = (share: number) => random.next() < share;
  if (maybe(0.6)) {
    const first = pick(random, data.words);
    const forms = [
      first,
      `${first} ${pick(random, data.words)}`,
      `${first} -${pick(random, data.words)}`,
      `${first} or ${pick(random, data.words)}`,
      first.slice(0, Math.max(3, first.length - 2)),
    ];
    filters.q = pick(random, forms);
  }
  if (maybe(0.25)) filters.method = pick(random, METHOD_CODES);
  if (maybe(0.25))
    filters.status = pick(
      random,
      PROCUREMENT_STATUSES.filter((s) => s !== 'draft'),
    );
  if (maybe(0.2)) filters.regime = pick(random, REGIMES);
  if (maybe(0.1)) filters.customerBin = pick(random, data.bins);
  if (maybe(0.25)) filters.region = pick(random, data.regions);
  if (maybe(0.2)) {
    const code = pick(random, data.ens);
    filters.ensTru = code.slice(0, pick(random, [1, 2, 4, 6, 8, 10, code.length]));
  }
  if (maybe(0.2)) filters.amountMin = (pick(random, data.amounts) / 100n).toString();
  if (maybe(0.15)) filters.amountMax = `${pick(random, data.amounts) / 100n}.50`;
  if (maybe(0.2)) filters.publishedFrom = pick(random, data.instants);
  if (maybe(0.15)) filters.publishedTo = pick(random, data.instants);
  if (maybe(0.1)) filters.offersEndFrom = pick(random, data.instants);
  if (maybe(0.1)) filters.offersEndTo = pick(random, data.instants);
  return filters;
}

/** Both answers to the search, page after page, for at most `pages` pages. */
async function compare(
  db: Database,
  index: LotIndex,
  filters: SearchFilters,
  lang: Language,
  limit: number,
  pages = 3,
): Promise<number> {
  let cursor: string | undefined;
  let seen = 0;
  for (let page = 0; page < pages; page += 1) {
    const paging = cursor === undefined ? { limit } : { limit, cursor };
    const expected = await searchLots(db, lang, filters, paging).catch((error: Error) => error);
    const actual = await index.search(lang, filters, paging).catch((error: Error) => error);
    if (expected instanceof Error) {
      assert.ok(actual instanceof Error, `${JSON.stringify(filters)} refused by SQL only`);
      assert.equal(actual.message, expected.message);
      return seen;
    }
    assert.ok(actual !== undefined, `the index answers ${JSON.stringify(filters)}`);
    assert.deepEqual(actual, expected, `${JSON.stringify(filters)} page ${page}`);
    seen += expected.items.length;
    if (expected.nextCursor === null) return seen;
    cursor = expected.nextCursor;
  }
  return seen;
}

describeEachDatabase('lot index', (fresh) => {
  let db: Database;
  let index: LotIndex;
  /** `index` turns to bitmaps early; this one has none: every check reads the lot's tokens. */
  let listsOnly: LotIndex;
  let data: Sample;
  const clock = { at: NOW, now: () => clock.at };

  before(async () => {
    db = await (await fresh()).open();
    await migrate(db);
    await seedDemoData(db, { procurements: 300, now: NOW, calendar, ocidPrefix: 'ocds-upp001' });
    index = new LotIndex(db, { staleMs: 0, bitmapMin: 8, shortList: 16 });
    await index.ready();
    listsOnly = new LotIndex(db, { staleMs: 0, bitmapMin: 1_000_000 });
    await listsOnly.ready();
    data = await sample(db);
  });

  test('holds every public lot and nothing of a draft', async () => {
    const counted = await db.query<{ n: bigint }>(
      "SELECT count(*) AS n FROM lot WHERE published_at IS NOT NULL AND status <> 'draft'",
    );
    assert.ok(Number(counted.rows[0]!.n) > 300);
    assert.deepEqual(index.status, { state: 'ready', lots: Number(counted.rows[0]!.n) });
  });

  test('400 random searches give the database answer, page by page', async () => {
    const random = new DemoRandom(7);
    let found = 0;
    for (let round = 0; round < 400; round += 1) {
      const filters = randomSearch(random, data);
      const lang = pick(random, ['kk', 'ru', 'en'] as const);
      const limit = pick(random, [1, 5, 20, 50]);
      found += await compare(db, index, filters, lang, limit);
      await compare(db, listsOnly, filters, lang, limit);
    }
    assert.ok(found > 2000, `${found} lots compared`);
  });

  test('a phrase is left to the database; a refused filter is refused alike', async () => {
    assert.equal(await index.search('ru', { q: '"горячего питания"' }, { limit: 5 }), undefined);
    await compare(db, index, { q: 'ноут*' }, 'ru', 5);
    await assert.rejects(index.search('ru', { amountMin: '1,5' }, { limit: 5 }), {
      code: 'search.bad_filter',
    });
    await assert.rejects(index.search('ru', {}, { limit: 5, cursor: 'bm9wZQ' }), {
      code: 'search.bad_cursor',
    });
  });

  test('follows the chronograph and new procurements, older ones too', async () => {
    const statuses = PROCUREMENT_STATUSES.filter((s) => s !== 'draft');
    // Asked before the changes, so a page kept from before them would be seen after.
    for (const status of statuses) await compare(db, index, { status }, 'ru', 50, 20);
    clock.at = new Date(NOW.getTime() + 20 * 86_400_000);
    const moved = await advanceDue(db, { clock, sealing }, 1000);
    assert.ok(moved.length > 20, `${moved.length} moves`);
    const random = new DemoRandom(11);
    const parties = demoParties(random, 30, clock.at);
    await insertParticipants(db, allParticipants(parties));
    const stream = demoProcurements(random, parties, {
      now: clock.at,
      calendar,
      publishedWithinDays: 3,
    });
    const added = Array.from({ length: 40 }, () => stream.next().value as DemoProcurement);
    // And some published among the older ones, so the index holds lots out of its order.
    const older = demoProcurements(random, parties, {
      now: new Date(NOW.getTime() - 10 * 86_400_000),
      calendar,
      publishedWithinDays: 30,
    });
    added.push(...Array.from({ length: 40 }, () => older.next().value as DemoProcurement));
    await db.transaction(async (tx) => {
      await insertProcurements(tx, added, 'ocds-upp001');
      for (const procurement of added) {
        const row = await tx.query<{ published_at: Date | null }>(
          'SELECT published_at FROM procurement WHERE id = $1',
          [procurement.id],
        );
        const at = row.rows[0]!.published_at;
        if (at !== null) await recordRelease(tx, procurement.id, { tag: ['tender'], date: at });
      }
    });
    data = await sample(db);
    for (const status of statuses) await compare(db, index, { status }, 'ru', 50, 20);
    const checks = new DemoRandom(12);
    for (let round = 0; round < 150; round += 1) {
      await compare(db, index, randomSearch(checks, data), 'ru', 20);
    }
    const counted = await db.query<{ n: bigint }>(
      "SELECT count(*) AS n FROM lot WHERE published_at IS NOT NULL AND status <> 'draft'",
    );
    assert.equal(index.status.lots, Number(counted.rows[0]!.n));
  });

  test('the HTTP answers with the index are the database answers, tags and all', async () => {
    const indexed = await testApp(db, {
      UPP_SEARCH_INDEX: 'memory',
      UPP_SEARCH_INDEX_STALE_MS: '0',
    });
    const plain = await testApp(db);
    const paths = [
      '/api/v1/public/lots?limit=7',
      `/api/v1/public/lots?q=${encodeURIComponent(data.words[3]!)}&lang=kk`,
      `/api/v1/public/lots?region=${data.regions[0]!}&status=accepting&limit=3`,
      '/api/v1/public/lots?amountMin=nope',
    ];
    for (const path of paths) {
      for (let round = 0; round < 2; round += 1) {
        const ask = {
          method: 'GET',
          url: path,
          headers: { 'x-request-id': 'lot-index-1' },
        } as const;
        const expected = await plain.app.inject(ask);
        const actual = await indexed.app.inject(ask);
        assert.equal(actual.statusCode, expected.statusCode, path);
        assert.equal(actual.body, expected.body, path);
        assert.equal(actual.headers.etag, expected.headers.etag, path);
        assert.equal(actual.headers['content-type'], expected.headers['content-type'], path);
      }
      const first = await indexed.app.inject({ method: 'GET', url: path });
      if (first.statusCode !== 200) continue;
      const again = await indexed.app.inject({
        method: 'GET',
        url: path,
        headers: { 'if-none-match': String(first.headers.etag) },
      });
      assert.equal(again.statusCode, 304, path);
    }
    await Promise.all([indexed.app.close(), plain.app.close()]);
  });

  test('written ahead, pages read no lot row and are what the database gives', async () => {
    const reads: string[] = [];
    const counting: Database = {
      ...db,
      query: (sql, params, options) => {
        reads.push(sql);
        return db.query(sql, params, options);
      },
    };
    const ahead = new LotIndex(counting, { staleMs: 60_000, prewrite: 'ru' });
    await ahead.ready();
    const write = (lot: object) => JSON.stringify(lot);
    await ahead.page('ru', {}, { limit: 5 }, write);
    for (let round = 0; round < 1000 && ahead.status.prewritten! < ahead.status.lots; round += 1) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(ahead.status.prewritten, ahead.status.lots);
    const random = new DemoRandom(21);
    reads.length = 0;
    for (let round = 0; round < 40; round += 1) {
      const filters = randomSearch(random, data);
      delete filters.q;
      const expected = await searchLots(db, 'ru', filters, { limit: 20 }).catch(() => undefined);
      if (expected === undefined) continue;
      const sent = await ahead.page('ru', filters, { limit: 20 }, write);
      assert.deepEqual(JSON.parse(sent!.body), JSON.parse(JSON.stringify(expected)));
    }
    assert.deepEqual(
      reads.filter((sql) => sql.includes('FROM lot t WHERE t.id = ANY')),
      [],
      'no lot row was read',
    );
    await ahead.stop();
  });
});
