// Public viewing without an account: lots, procurements, plans, unreliable suppliers and the
// reference tables, over fixture rows written with SQL, on PGlite and on PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, test } from 'node:test';
import type { Database } from '../../src/store/database.js';
import { searchLots } from '../../src/services/public-viewing.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';

const BIN_A = '100140000011';
const BIN_B = '100240000022';
const PAGING_AT = '2026-01-15T00:00:00.123456Z';

interface Fixture {
  customerA: string;
  customerB: string;
  computers: string;
  paper: string;
  draft: string;
  stationery: string;
  lots: Record<'computers' | 'printers' | 'paperA4' | 'secret', string>;
  publicDocument: string;
  partiesDocument: string;
  approvedPlan: string;
  draftPlan: string;
}

async function participant(db: Database, bin: string, kk: string, ru: string): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO participant (id, kind, bin, name_kk, name_ru, address, contacts, roles,
                              registered_at, registration_document_id)
     VALUES ($1, 'legal_entity', $2, $3, $4, '{}', '{}', ARRAY['customer', 'organizer'],
             '2025-01-10T04:00:00Z', $5)`,
    [id, bin, kk, ru, randomUUID()],
  );
  return id;
}

interface ProcurementFields {
  number: string;
  regime: string;
  method: string;
  customer: string;
  customerBin: string;
  titles: [string, string, string];
  status: string;
  amount: bigint;
  region: string;
  publishedAt: string | null;
  offersEndAt: string | null;
}

async function procurement(db: Database, f: ProcurementFields): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO procurement (id, number, ocid, regime, method, customer_participant_id,
       organizer_participant_id, customer_bin, title_kk, title_ru, title_en, status,
       security_basis_points, qualification, amount, kato_region, published_at,
       discussion_ends_at, offers_end_at, review_ends_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, 150,
             '[{"kind": "experience", "years": 3}]', $12, $13, $14, NULL, $15, NULL,
             '2025-12-01T00:00:00Z', '2025-12-01T00:00:00Z')`,
    [
      id,
      f.number,
      `ocds-upp-${f.number}`,
      f.regime,
      f.method,
      f.customer,
      f.customerBin,
      f.titles[0],
      f.titles[1],
      f.titles[2],
      f.status,
      f.amount,
      f.region,
      f.publishedAt,
      f.offersEndAt,
    ],
  );
  return id;
}

interface LotFields {
  number: number;
  ensTru: string;
  titles: [string, string, string];
  amount: bigint;
}

async function lot(
  db: Database,
  procurementId: string,
  p: ProcurementFields,
  f: LotFields,
): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO lot (id, procurement_id, number, ens_tru, title_kk, title_ru, title_en, unit,
       quantity, unit_price, amount, kato, delivery_place, regime, method, status, customer_bin,
       kato_region, published_at, offers_end_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, '796', 10, $8, $9, $10, 'Астана, ул. Бейбітшілік 1',
             $11, $12, $13, $14, $15, $16, $17)`,
    [
      id,
      procurementId,
      f.number,
      f.ensTru,
      f.titles[0],
      f.titles[1],
      f.titles[2],
      f.amount / 10n,
      f.amount,
      `${p.region}1010000`,
      p.regime,
      p.method,
      p.status,
      p.customerBin,
      p.region,
      p.publishedAt,
      p.offersEndAt,
    ],
  );
  return id;
}

async function publishedDocument(
  db: Database,
  procurementId: string,
  participantId: string,
  visibility: 'public' | 'parties',
  title: string,
): Promise<string> {
  const id = randomUUID();
  const userId = randomUUID();
  await db.query(
    `INSERT INTO user_account (id, identity, iin, full_name, created_at)
     VALUES ($1, $2, NULL, 'Иванов Иван', '2025-01-10T04:00:00Z')`,
    [userId, `iin:${userId.replace(/\D/g, '').padEnd(12, '0').slice(0, 12)}`],
  );
  await db.query(
    `INSERT INTO signed_document (id, action, participant_id, payload, payload_sha256, cms, report,
                                  received_at)
     VALUES ($1, 'document.sign', $2, '{}', $3, '\\x00', '{}', '2026-03-01T05:00:00Z')`,
    [id, participantId, '0'.repeat(64)],
  );
  await db.query(
    `INSERT INTO document (id, participant_id, owner_user_id, form, type, title_kk, title_ru,
                           title_en, language, visibility, created_at)
     VALUES ($1, $2, $3, 'copy', 'tender_documentation', $4, $4, $4, 'ru', $5,
             '2026-03-01T05:00:00Z')`,
    [id, participantId, userId, title, visibility],
  );
  await db.query(
    `INSERT INTO procurement_document (procurement_id, document_id, role, attached_at)
     VALUES ($1, $2, 'documentation', '2026-03-01T05:00:00Z')`,
    [procurementId, id],
  );
  return id;
}

async function plan(
  db: Database,
  customer: string,
  status: 'draft' | 'approved',
  kind: 'annual' | 'preliminary',
): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO plan (id, customer_participant_id, year, kind, status, version, approved_at,
                       created_at, updated_at)
     VALUES ($1, $2, 2026, $3, $4, 1, $5, '2025-12-01T00:00:00Z', '2025-12-01T00:00:00Z')`,
    [id, customer, kind, status, status === 'approved' ? '2025-12-20T05:00:00Z' : null],
  );
  const items: [number, string, string][] = [
    [1, 'active', 'Ноутбуки'],
    [2, 'removed', 'Мониторы'],
    [3, 'active', 'Бумага'],
  ];
  for (const [number, itemStatus, name] of items) {
    await db.query(
      `INSERT INTO plan_item (id, plan_id, number, ens_tru, name_kk, name_ru, name_en, unit,
         quantity, unit_price, amount, month, kato, delivery_place, funding_source, regime,
         method, status, created_at, updated_at)
       VALUES ($1, $2, $3, '262013.000.000001', $4 || ' (kk)', $4, $4 || ' (en)', '796', 2.5,
               40000000, 100000000, 4, '711010000', 'Астана', 'republican_budget', 'public',
               'price_request', $5, '2025-12-01T00:00:00Z', '2025-12-01T00:00:00Z')`,
      [randomUUID(), id, number, name, itemStatus],
    );
  }
  return id;
}

async function seed(db: Database): Promise<Fixture> {
  const customerA = await participant(db, BIN_A, '«Алпha» ЖШС', 'ТОО «Альфа»');
  const customerB = await participant(db, BIN_B, '«Бета» АҚ', 'АО «Бета»');

  const computersFields: ProcurementFields = {
    number: 'UPP-2026-000001',
    regime: 'public',
    method: 'tender',
    customer: customerA,
    customerBin: BIN_A,
    titles: [
      'Компьютер техникасын жеткізу',
      'Поставка компьютерной техники',
      'Supply of computer equipment',
    ],
    status: 'accepting',
    amount: 500_000_000n,
    region: '75',
    publishedAt: '2026-03-01T05:00:00Z',
    offersEndAt: '2026-03-10T05:00:00Z',
  };
  const computers = await procurement(db, computersFields);
  const lots = {
    computers: await lot(db, computers, computersFields, {
      number: 1,
      ensTru: '262013.000.000001',
      titles: ['Компьютерлер жеткізу', 'Поставка компьютеров', 'Supply of computers'],
      amount: 300_000_000n,
    }),
    printers: await lot(db, computers, computersFields, {
      number: 2,
      ensTru: '262016.000.000002',
      titles: ['Принтерлер жеткізу', 'Поставка принтеров', 'Supply of printers'],
      amount: 200_000_000n,
    }),
    paperA4: '',
    secret: '',
  };

  const paperFields: ProcurementFields = {
    number: 'UPP-2026-000002',
    regime: 'quasi_public',
    method: 'auction',
    customer: customerB,
    customerBin: BIN_B,
    titles: ['Кеңсе қағазын сатып алу', 'Закупка офисной бумаги', 'Purchase of office paper'],
    status: 'published',
    amount: 15_000_050n,
    region: '71',
    publishedAt: '2026-02-20T05:00:00Z',
    offersEndAt: '2026-02-28T05:00:00Z',
  };
  const paper = await procurement(db, paperFields);
  lots.paperA4 = await lot(db, paper, paperFields, {
    number: 1,
    ensTru: '171912.000.000003',
    titles: ['Кеңсе қағазы А4', 'Бумага офисная А4', 'Office paper A4'],
    amount: 15_000_050n,
  });

  const draftFields: ProcurementFields = {
    ...computersFields,
    number: 'UPP-2026-000003',
    titles: ['Компьютерлер', 'Компьютеры для черновика', 'Draft computers'],
    status: 'draft',
    publishedAt: null,
    offersEndAt: null,
  };
  const draft = await procurement(db, draftFields);
  lots.secret = await lot(db, draft, draftFields, {
    number: 1,
    ensTru: '262013.000.000001',
    titles: ['Компьютерлер', 'Компьютеры для черновика', 'Draft computers'],
    amount: 100_000n,
  });

  // Many lots published in the same microsecond: only the id can tell them apart.
  const stationeryFields: ProcurementFields = {
    ...paperFields,
    number: 'UPP-2026-000004',
    regime: 'public',
    method: 'price_request',
    status: 'review',
    customer: customerA,
    customerBin: BIN_A,
    titles: ['Кеңсе тауарлары', 'Канцелярские товары', 'Stationery'],
    region: '11',
    publishedAt: PAGING_AT,
    offersEndAt: '2026-01-25T05:00:00Z',
  };
  const stationery = await procurement(db, stationeryFields);
  for (let number = 1; number <= 25; number += 1) {
    await lot(db, stationery, stationeryFields, {
      number,
      ensTru: '172312.000.000004',
      titles: [`Тауар ${number}`, `Товар ${number}`, `Item ${number}`],
      amount: 100_00n * BigInt(number),
    });
  }

  const publicDocument = await publishedDocument(
    db,
    computers,
    customerA,
    'public',
    'Конкурсная документация',
  );
  const partiesDocument = await publishedDocument(
    db,
    computers,
    customerA,
    'parties',
    'Внутренняя записка',
  );
  await db.query(
    `INSERT INTO procurement_event (procurement_id, kind, at, actor, details)
     VALUES ($1, 'published', '2026-03-01T05:00:00Z', 'iin:1',
             '{"from": "draft", "to": "accepting"}'),
            ($1, 'commission_note', '2026-03-02T05:00:00Z', 'iin:1', '{"secret": "прайс"}')`,
    [computers],
  );

  const approvedPlan = await plan(db, customerA, 'approved', 'annual');
  const draftPlan = await plan(db, customerB, 'draft', 'annual');

  await db.query(
    `INSERT INTO unreliable_supplier (id, bin, iin, name_kk, name_ru, reason, included_at,
                                      excluded_at)
     VALUES ($1, '200340000033', NULL, '«Жалтарушы» ЖШС', 'ТОО «Уклонист»', 'evaded contract',
             '2025-06-01T00:00:00Z', '2027-06-01T00:00:00Z'),
            ($2, NULL, '850101300123', 'Ескі Жеткізуші', 'Старый Поставщик', 'evaded contract',
             '2024-01-10T00:00:00Z', '2026-01-10T00:00:00Z')`,
    [randomUUID(), randomUUID()],
  );

  return {
    customerA,
    customerB,
    computers,
    paper,
    draft,
    stationery,
    lots,
    publicDocument,
    partiesDocument,
    approvedPlan,
    draftPlan,
  };
}

describeEachDatabase('public viewing', (fresh) => {
  let t: TestApp;
  let f: Fixture;

  before(async () => {
    const db = await (await fresh()).open();
    await migrate(db);
    f = await seed(db);
    t = await testApp(db);
  });

  const get = (url: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers });
  const lotIds = async (query: string) => {
    const response = await get(`/public/lots?limit=100&${query}`);
    assert.equal(response.statusCode, 200, response.body);
    return (response.json().items as { id: string }[]).map((item) => item.id).sort();
  };

  test('a Russian word form finds the lot by its stem; drafts stay hidden', async () => {
    assert.deepEqual(await lotIds(`q=${encodeURIComponent('компьютерами')}`), [f.lots.computers]);
    assert.deepEqual(await lotIds(`q=${encodeURIComponent('принтер')}`), [f.lots.printers]);
  });

  test('a Kazakh word finds the lot by its Kazakh title', async () => {
    assert.deepEqual(await lotIds(`q=${encodeURIComponent('принтерлер')}`), [f.lots.printers]);
    assert.deepEqual(await lotIds(`q=${encodeURIComponent('қағазы')}`), [f.lots.paperA4]);
  });

  test('each filter narrows the lots', async () => {
    const both = [f.lots.computers, f.lots.printers].sort();
    assert.deepEqual(await lotIds('method=auction'), [f.lots.paperA4]);
    assert.deepEqual(await lotIds('regime=quasi_public&region=71'), [f.lots.paperA4]);
    assert.deepEqual(await lotIds('status=accepting'), both);
    assert.deepEqual(await lotIds(`customerBin=${BIN_B}`), [f.lots.paperA4]);
    assert.deepEqual(await lotIds('region=75'), both);
    assert.deepEqual(await lotIds('ensTru=262013'), [f.lots.computers]);
    assert.deepEqual(await lotIds('ensTru=262013.000.000001'), [f.lots.computers]);
    assert.deepEqual(await lotIds('ensTru=26201'), both);
    const published = 'publishedFrom=2026-02-01T00:00:00%2B05:00&publishedTo=2026-03-01T05:00:00Z';
    assert.deepEqual(await lotIds(published), [f.lots.paperA4]);
    assert.deepEqual(
      await lotIds('offersEndFrom=2026-03-10T05:00:00Z&offersEndTo=2026-03-10T05:00:00.001Z'),
      both,
    );
    assert.deepEqual(await lotIds('method=single_source'), []);
  });

  test('past the window of newest lots, the same lots in the same order', async () => {
    const searches = [
      {},
      { q: 'компьютер' },
      { q: 'қағазы' },
      { method: 'auction' },
      { status: 'accepting', region: '75' },
      { ensTru: '26201' },
      { customerBin: BIN_B, q: 'бумага' },
      { amountMin: '150000.00', amountMax: '3000000.00' },
      { method: 'single_source' },
    ];
    for (const filters of searches) {
      for (const tuning of [
        { windowRows: 1, indexRows: 5000 },
        { windowRows: 2, indexRows: 5000 },
        { windowRows: 1, indexRows: 0 },
      ]) {
        const pages = async (rows?: typeof tuning) => {
          const ids: string[] = [];
          let cursor: string | undefined;
          do {
            const page = await searchLots(t.app.ctx.db, 'ru', filters, { limit: 1, cursor }, rows);
            ids.push(...page.items.map((item) => item.id));
            cursor = page.nextCursor ?? undefined;
          } while (cursor !== undefined);
          return ids;
        };
        assert.deepEqual(await pages(tuning), await pages(), JSON.stringify(filters));
      }
    }
  });

  test('an amount range in tenge includes its bounds', async () => {
    assert.deepEqual(await lotIds('amountMin=2000000.00&amountMax=2999999.99'), [f.lots.printers]);
    assert.deepEqual(await lotIds('amountMin=150000.50&amountMax=150000.50'), [f.lots.paperA4]);
    assert.deepEqual(await lotIds('amountMin=150000.51&amountMax=1000000'), []);
  });

  test('contradictory or malformed filters are refused with search.bad_filter', async () => {
    for (const query of [
      'amountMin=10.00&amountMax=9.99',
      'amountMin=1.234',
      'amountMax=1e6',
      'publishedFrom=yesterday',
      'publishedFrom=2026-02-30T00:00:00Z',
      'offersEndTo=2026-03-01',
      'publishedFrom=2026-03-02T00:00:00Z&publishedTo=2026-03-01T00:00:00Z',
    ]) {
      const response = await get(`/public/lots?${query}`);
      assert.equal(response.statusCode, 400, query);
      assert.equal(response.json().code, 'search.bad_filter', query);
    }
    const badBin = await get('/public/lots?customerBin=12345');
    assert.equal(badBin.json().code, 'request.invalid');
  });

  test('paging over equal published_at gives every lot once', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const suffix = cursor === '' ? '' : `&cursor=${cursor}`;
      const response = await get(`/public/lots?region=11&limit=10${suffix}`);
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json() as { items: { id: string; publishedAt: string }[] };
      for (const item of body.items) assert.equal(item.publishedAt, '2026-01-15T00:00:00.123Z');
      seen.push(...body.items.map((item) => item.id));
      cursor = response.json().nextCursor;
      pages += 1;
    }
    assert.equal(pages, 3);
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
  });

  test('paging over all lots follows published_at DESC, id DESC', async () => {
    const all: { id: string; publishedAt: string }[] = [];
    let cursor: string | null = null;
    do {
      const suffix: string = cursor === null ? '' : `&cursor=${cursor}`;
      const response = await get(`/public/lots?limit=7${suffix}`);
      all.push(...response.json().items);
      cursor = response.json().nextCursor;
    } while (cursor !== null);
    assert.equal(all.length, 28);
    const key = (item: { id: string; publishedAt: string }) => `${item.publishedAt}|${item.id}`;
    const sorted = [...all].sort((a, b) => (key(a) < key(b) ? 1 : -1));
    assert.deepEqual(
      all.map((item) => item.id),
      sorted.map((item) => item.id),
    );
  });

  test('a cursor this API did not give is refused with search.bad_cursor', async () => {
    const forged = Buffer.from('2026-01-15T00:00:00Z|not-an-id').toString('base64url');
    const impossible = Buffer.from(`2026-13-45T00:00:00.000000Z|${randomUUID()}`).toString(
      'base64url',
    );
    for (const cursor of ['%%%', 'abc', forged, impossible]) {
      const response = await get(`/public/lots?cursor=${cursor}`);
      assert.equal(response.statusCode, 400, cursor);
      assert.equal(response.json().code, 'search.bad_cursor', cursor);
    }
  });

  test('a lot shows amounts in tenge and codes with titles', async () => {
    const response = await get(`/public/lots?q=${encodeURIComponent('бумага')}`);
    const [item] = response.json().items;
    assert.equal(item.procurementNumber, 'UPP-2026-000002');
    assert.equal(item.procurementId, f.paper);
    assert.equal(item.amount, '150000.50');
    assert.equal(item.unitPrice, '15000.05');
    assert.equal(item.quantity, '10.000');
    assert.deepEqual(item.method, { code: 'auction', title: 'Аукцион' });
    assert.deepEqual(item.regime.code, 'quasi_public');
    assert.equal(item.status.title, 'Опубликовано');
    assert.equal(item.customerBin, BIN_B);
    assert.equal(item.kato, '711010000');
    assert.equal(item.offersEndAt, '2026-02-28T05:00:00.000Z');
  });

  test('the language comes from lang, else Accept-Language, else Russian', async () => {
    const title = async (query: string, headers: Record<string, string> = {}) => {
      const response = await get(`/public/lots?ensTru=262013${query}`, headers);
      assert.match(String(response.headers.vary), /Accept-Language/);
      return [response.json().items[0].title, response.json().items[0].status.title];
    };
    assert.deepEqual(await title(''), ['Поставка компьютеров', 'Прием заявок']);
    assert.deepEqual(await title('', { 'accept-language': 'kk-KZ,ru;q=0.8' }), [
      'Компьютерлер жеткізу',
      'Өтінімдер қабылдау',
    ]);
    assert.deepEqual(await title('', { 'accept-language': 'de-DE, en;q=0.5, ru;q=0.3' }), [
      'Supply of computers',
      'Accepting applications',
    ]);
    assert.deepEqual(await title('&lang=en', { 'accept-language': 'kk' }), [
      'Supply of computers',
      'Accepting applications',
    ]);
  });

  test('an unchanged answer is 304 to If-None-Match; another language, another tag', async () => {
    const first = await get('/public/lots?region=75');
    assert.equal(first.statusCode, 200);
    const tag = String(first.headers.etag);
    assert.match(tag, /^W\/".+"$/);
    assert.equal(first.headers['cache-control'], 'public, max-age=30');
    const again = await get('/public/lots?region=75', { 'if-none-match': tag });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');
    assert.equal(again.headers.etag, tag);
    const kazakh = await get('/public/lots?region=75&lang=kk', { 'if-none-match': tag });
    assert.equal(kazakh.statusCode, 200);
    assert.notEqual(kazakh.headers.etag, tag);
    const other = await get('/public/lots?region=71', { 'if-none-match': tag });
    assert.equal(other.statusCode, 200);
  });

  test('procurements are searched with the same filters', async () => {
    const ids = async (query: string) => {
      const response = await get(`/public/procurements?${query}`);
      assert.equal(response.statusCode, 200, response.body);
      return (response.json().items as { id: string }[]).map((item) => item.id).sort();
    };
    assert.deepEqual(await ids(`q=${encodeURIComponent('компьютерная')}`), [f.computers]);
    assert.deepEqual(await ids(`q=${encodeURIComponent('қағазын')}`), [f.paper]);
    assert.deepEqual(await ids('q=UPP-2026-000002'), [f.paper]);
    assert.deepEqual(await ids('ensTru=262016'), [f.computers]);
    assert.deepEqual(await ids('amountMin=5000000.00'), [f.computers]);
    assert.deepEqual(await ids(`customerBin=${BIN_A}&region=11`), [f.stationery]);
    const drafts = await get('/public/procurements?status=draft');
    assert.equal(drafts.json().code, 'request.invalid');
    const all = await ids('limit=100');
    assert.equal(all.includes(f.draft), false);
    assert.equal(all.length, 3);
    const paged = await get('/public/procurements?limit=2');
    assert.equal(paged.json().items.length, 2);
    const rest = await get(`/public/procurements?limit=2&cursor=${paged.json().nextCursor}`);
    assert.equal(rest.json().items.length, 1);
    assert.equal(rest.json().nextCursor, null);
  });

  test('a procurement card by number and by id, with public documents and history', async () => {
    const byNumber = await get('/public/procurements/UPP-2026-000001?lang=kk');
    assert.equal(byNumber.statusCode, 200, byNumber.body);
    const card = byNumber.json();
    const byId = await get(`/public/procurements/${f.computers}?lang=kk`);
    assert.deepEqual(byId.json(), card);
    assert.equal(card.title, 'Компьютер техникасын жеткізу');
    assert.equal(card.amount, '5000000.00');
    assert.equal(card.securityPercent, '1.50');
    assert.deepEqual(card.qualification, [{ kind: 'experience', years: 3 }]);
    assert.equal(card.customer.bin, BIN_A);
    assert.equal(card.customer.name, '«Алпha» ЖШС');
    assert.equal(card.organizer.names.ru, 'ТОО «Альфа»');
    assert.equal(card.offersEndAt, '2026-03-10T05:00:00.000Z');
    assert.deepEqual(
      card.lots.map((item: { number: number }) => item.number),
      [1, 2],
    );
    assert.deepEqual(card.documents, [
      {
        id: f.publicDocument,
        role: 'documentation',
        type: 'tender_documentation',
        title: 'Конкурсная документация',
        titles: {
          kk: 'Конкурсная документация',
          ru: 'Конкурсная документация',
          en: 'Конкурсная документация',
        },
        attachedAt: '2026-03-01T05:00:00.000Z',
        path: `/api/v1/documents/${f.publicDocument}`,
      },
    ]);
    assert.deepEqual(card.history, [
      {
        kind: 'published',
        at: '2026-03-01T05:00:00.000Z',
        details: { from: 'draft', to: 'accepting' },
      },
      { kind: 'commission_note', at: '2026-03-02T05:00:00.000Z', details: null },
    ]);
    assert.equal(byNumber.body.includes('прайс'), false);
  });

  test('a draft or unknown procurement is procurement.not_found', async () => {
    for (const ref of [f.draft, 'UPP-2026-000003', randomUUID(), 'UPP-1999-999999']) {
      const response = await get(`/public/procurements/${ref}`);
      assert.equal(response.statusCode, 404, ref);
      assert.equal(response.json().code, 'procurement.not_found');
    }
  });

  test('only approved plans are listed and shown, with their active items', async () => {
    const list = await get('/public/plans');
    assert.deepEqual(
      list.json().items.map((item: { id: string }) => item.id),
      [f.approvedPlan],
    );
    const filtered = async (query: string) =>
      (await get(`/public/plans?${query}`)).json().items.length;
    assert.equal(await filtered(`customerBin=${BIN_A}&year=2026&kind=annual`), 1);
    assert.equal(await filtered(`customerBin=${BIN_B}`), 0);
    assert.equal(await filtered('year=2025'), 0);
    assert.equal(await filtered('kind=preliminary'), 0);

    const card = await get(`/public/plans/${f.approvedPlan}?lang=en`);
    assert.equal(card.statusCode, 200, card.body);
    const body = card.json();
    assert.equal(body.itemCount, 2);
    assert.equal(body.amount, '2000000.00');
    assert.deepEqual(
      body.items.map((item: { name: string }) => item.name),
      ['Ноутбуки (en)', 'Бумага (en)'],
    );
    const [first] = body.items;
    assert.equal(first.unitPrice, '400000.00');
    assert.equal(first.quantity, '2.500');
    assert.equal(first.fundingSource, 'republican_budget');
    assert.deepEqual(first.method, { code: 'price_request', title: 'Request for price offers' });

    const hidden = await get(`/public/plans/${f.draftPlan}`);
    assert.equal(hidden.statusCode, 404);
    assert.equal(hidden.json().code, 'plan.not_found');
  });

  test('unreliable suppliers past their exclusion date are hidden', async () => {
    const names = async (query = '') =>
      (await get(`/public/unreliable-suppliers?${query}`))
        .json()
        .items.map((item: { names: { ru: string } }) => item.names.ru);
    assert.deepEqual(await names(), ['ТОО «Уклонист»']);
    assert.deepEqual(await names(`q=${encodeURIComponent('уклон')}`), ['ТОО «Уклонист»']);
    assert.deepEqual(await names('q=200340000033'), ['ТОО «Уклонист»']);
    assert.deepEqual(await names(`q=${encodeURIComponent('Старый')}`), []);
    assert.deepEqual(await names('q=%25'), []);
    t.clock.set('2025-12-31T00:00:00Z');
    assert.deepEqual((await names()).length, 2);
    t.clock.set('2027-06-01T00:00:00Z');
    assert.deepEqual(await names(), []);
    t.clock.set('2026-03-02T04:00:00.000Z');
  });

  test('the reference tables give methods per regime, statuses and regimes', async () => {
    const response = await get('/public/reference?lang=kk');
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['cache-control'], 'public, max-age=3600');
    const body = response.json();
    const tender = body.methods.filter((method: { code: string }) => method.code === 'tender');
    assert.deepEqual(
      tender.map((method: { regime: string }) => method.regime),
      ['public', 'quasi_public'],
    );
    assert.equal(tender[0].title, 'Конкурс');
    assert.deepEqual(tender[0].acceptance, { n: 5, unit: 'working_days' });
    const priceRequest = body.methods.find((m: { code: string }) => m.code === 'price_request');
    assert.equal(priceRequest.maxMrp, 8000);
    assert.equal(priceRequest.discussion, null);
    assert.equal(
      body.statuses.find((s: { code: string }) => s.code === 'results').titles.en,
      'Results',
    );
    assert.equal(body.regimes.length, 2);
  });
});
