// OCDS open data on both databases: releases built from procurement rows and checked against the
// official 1.1 schemas and codelists, the feed that never skips, records, and the gzipped export.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import {
  buildRelease,
  compileRecord,
  exportJsonLines,
  recordRelease,
  releasesAfter,
} from '../../src/services/ocds.js';
import type { Release } from '../../src/services/ocds.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import type { TestDatabase } from '../support/databases.js';
import {
  assertCodelists,
  assertValid,
  assertValidRelease,
  partiesOf,
  tenderOf,
  validateRecordPackage,
  validateReleasePackage,
} from '../support/ocds.js';
import { newBin } from '../support/signing.js';

/**
 * Waits until the feed's horizon has passed these releases. The horizon is the oldest running
 * transaction of the whole PostgreSQL server, and other test files write to the same server,
 * so their short transactions may hold it back for a moment; this polls the condition itself.
 */
async function settled(db: Database, releaseIds: string[]): Promise<void> {
  for (let attempt = 0; attempt < 100_000; attempt += 1) {
    const found = await db.query<{ pending: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ocds_release WHERE release_id = ANY($1::text[])
          AND tx >= pg_snapshot_xmin(pg_current_snapshot())) AS pending`,
      [releaseIds],
    );
    if (found.rows[0]?.pending === false) return;
  }
  throw new Error(`the feed's horizon never passed ${releaseIds.join(', ')}`);
}

async function setup(fresh: () => Promise<TestDatabase>): Promise<Database> {
  const db = await (await fresh()).open();
  await migrate(db);
  return db;
}

const AT = new Date('2026-03-02T04:00:00.000Z');
const hours = (n: number) => new Date(AT.getTime() + n * 3_600_000);

async function participant(db: Database, nameRu: string): Promise<{ id: string; bin: string }> {
  const id = randomUUID();
  const bin = newBin();
  await db.query(
    `INSERT INTO participant (id, kind, bin, name_kk, name_ru, address, contacts, roles,
       registered_at, registration_document_id)
     VALUES ($1, 'legal_entity', $2, $3, $4, $5, '{}', $6, $7, $8)`,
    [
      id,
      bin,
      `${nameRu} (kk)`,
      nameRu,
      { kato: '751110000', text: 'Алматы, Абай, 1' },
      ['customer', 'organizer'],
      AT,
      randomUUID(),
    ],
  );
  return { id, bin };
}

interface LotFixture {
  ensTru: string;
  unit: string;
  quantity: string;
  unitPrice: bigint;
  kato: string;
}

interface ProcurementFixture {
  customerId: string;
  organizerId: string;
  method?: string;
  status?: string;
  number?: string;
  lots?: LotFixture[];
  discussion?: boolean;
}

const LOT: LotFixture = {
  ensTru: '172211.900.000001',
  unit: '796',
  quantity: '2.500',
  unitPrice: 50_000_020n,
  kato: '751110000',
};

let numbers = 0;

async function procurement(db: Database, fixture: ProcurementFixture) {
  const id = randomUUID();
  numbers += 1;
  const number = fixture.number ?? `2026-${String(numbers).padStart(6, '0')}`;
  const ocid = `ocds-upp001-${number}`;
  const lots = fixture.lots ?? [LOT];
  const amounts = lots.map((lot) => {
    const [whole, thousandths] = lot.quantity.split('.');
    return (lot.unitPrice * BigInt(`${whole}${thousandths ?? '000'}`)) / 1000n;
  });
  const amount = amounts.reduce((sum, value) => sum + value, 0n);
  const method = fixture.method ?? 'tender';
  const status = fixture.status ?? 'published';
  await db.query(
    `INSERT INTO procurement (id, number, ocid, regime, method, customer_participant_id,
       organizer_participant_id, title_kk, title_ru, title_en, status, security_basis_points,
       amount, kato_region, published_at, discussion_ends_at, offers_end_at, review_ends_at,
       created_at, updated_at)
     VALUES ($1, $2, $3, 'public', $4, $5, $6, 'Қағаз', 'Бумага офисная', 'Office paper', $7,
       100, $8, '75', $9, $10, $11, $12, $9, $9)`,
    [
      id,
      number,
      ocid,
      method,
      fixture.customerId,
      fixture.organizerId,
      status,
      amount,
      AT,
      fixture.discussion === false ? null : hours(48),
      hours(170),
      hours(240),
    ],
  );
  for (const [index, lot] of lots.entries()) {
    await db.query(
      `INSERT INTO lot (id, procurement_id, number, ens_tru, title_kk, title_ru, title_en, unit,
         quantity, unit_price, amount, kato, delivery_place, regime, method, status,
         kato_region, published_at, offers_end_at)
       VALUES ($1, $2, $3, $4, 'Қағаз A4', 'Бумага A4', 'Paper A4', $5, $6, $7, $8, $9,
         'Алматы, склад 3', 'public', $10, $11, '75', $12, $13)`,
      [
        randomUUID(),
        id,
        index + 1,
        lot.ensTru,
        lot.unit,
        lot.quantity,
        lot.unitPrice,
        amounts[index],
        lot.kato,
        method,
        status,
        AT,
        hours(170),
      ],
    );
  }
  return { id, ocid, number, amount };
}

/** A document attached to a procurement, as the documents service leaves one. */
async function attach(
  db: Database,
  procurementId: string,
  participantId: string,
  role: string,
  visibility: 'public' | 'parties',
): Promise<string> {
  const id = randomUUID();
  const userId = randomUUID();
  await db.query(
    `INSERT INTO user_account (id, identity, full_name, created_at) VALUES ($1, $2, 'Тест', $3)`,
    [userId, `iin:${randomUUID().replace(/-/g, '').slice(0, 12)}`, AT],
  );
  await db.query(
    `INSERT INTO signed_document (id, action, participant_id, payload, payload_sha256, cms, report,
       received_at)
     VALUES ($1, 'document.create', $2, '{}', $3, $4, '{}', $5)`,
    [id, participantId, 'a'.repeat(64), Buffer.from([48, 0]), AT],
  );
  await db.query(
    `INSERT INTO document (id, participant_id, owner_user_id, form, type, title_kk, title_ru,
       title_en, language, visibility, content, created_at)
     VALUES ($1, $2, $3, 'structured', 'documentation', 'Құжат', 'Документация', 'Documents',
       'ru', $4, '{}', $5)`,
    [id, participantId, userId, visibility, AT],
  );
  await db.query(
    `INSERT INTO procurement_document (procurement_id, document_id, role, attached_at)
     VALUES ($1, $2, $3, $4)`,
    [procurementId, id, role, hours(1)],
  );
  return id;
}

async function parties(db: Database) {
  const customer = await participant(db, 'ГУ «Управление образования»');
  const organizer = await participant(db, 'ГУ «Отдел государственных закупок»');
  return { customer, organizer };
}

describeEachDatabase('OCDS open data', (fresh, driver) => {
  test('a published tender is a valid release: parties, value, lots, documents', async () => {
    const db = await setup(fresh);
    const { customer, organizer } = await parties(db);
    const p = await procurement(db, {
      customerId: customer.id,
      organizerId: organizer.id,
      lots: [LOT, { ...LOT, ensTru: '170000.000.000002', unit: '9999', kato: '111010000' }],
    });
    const shown = await attach(db, p.id, organizer.id, 'documentation', 'public');
    await attach(db, p.id, organizer.id, 'other', 'parties');

    const release = await buildRelease(db, p.id, { tag: ['tender'], date: AT });
    assertValidRelease(release, 'release');
    assert.equal(release.ocid, p.ocid);
    assert.equal(release.date, AT.toISOString());
    assert.deepEqual(release.tag, ['tender']);
    assert.equal(release.initiationType, 'tender');
    assert.equal(release.language, 'ru');

    const [buyer, entity] = partiesOf(release);
    assert.equal(buyer!.id, `KZ-BIN-${customer.bin}`);
    assert.deepEqual(buyer!.identifier, {
      scheme: 'KZ-BIN',
      id: customer.bin,
      legalName: 'ГУ «Управление образования»',
    });
    assert.deepEqual(buyer!.roles, ['buyer']);
    assert.equal(entity!.id, `KZ-BIN-${organizer.bin}`);
    assert.deepEqual(entity!.roles, ['procuringEntity']);
    assert.deepEqual(release.buyer, { id: buyer!.id, name: 'ГУ «Управление образования»' });

    const tender = tenderOf(release);
    assert.equal(tender.id, p.number);
    assert.equal(tender.status, 'active');
    assert.equal(tender.procuringEntity.id, entity!.id);
    assert.equal(tender.procurementMethod, 'open');
    assert.equal(tender.procurementMethodDetails, 'Конкурс');
    assert.equal(tender.mainProcurementCategory, 'goods');
    assert.equal(tender.value.currency, 'KZT');
    assert.equal(Math.round(tender.value.amount * 100), Number(p.amount));
    assert.equal(tender.value.amount.toFixed(2), (Number(p.amount) / 100).toFixed(2));
    assert.deepEqual(tender.tenderPeriod, {
      startDate: AT.toISOString(),
      endDate: hours(170).toISOString(),
    });
    assert.deepEqual(tender.enquiryPeriod, {
      startDate: AT.toISOString(),
      endDate: hours(48).toISOString(),
    });
    assert.equal(tender.awardPeriod?.endDate, hours(240).toISOString());

    assert.equal(tender.items.length, 2);
    const [first, second] = tender.items;
    assert.deepEqual(first!.classification, { scheme: 'KZ-ENSTRU', id: LOT.ensTru });
    assert.equal(first!.quantity, 2.5);
    assert.deepEqual(first!.unit, {
      id: '796',
      name: 'Штука',
      value: { amount: 500000.2, currency: 'KZT' },
    });
    assert.equal(first!.deliveryAddress.region, 'город Алматы');
    assert.equal(second!.unit.name, undefined);
    assert.equal(second!.deliveryAddress.region, 'Акмолинская область');

    assert.deepEqual(
      tender.documents.map((d) => [d.id, d.documentType, d.url, d.language]),
      [[shown, 'biddingDocuments', `/api/v1/documents/${shown}`, 'ru']],
    );
  });

  test('a single-source procurement is direct, by a customer that organizes it', async () => {
    const db = await setup(fresh);
    const { customer } = await parties(db);
    const p = await procurement(db, {
      customerId: customer.id,
      organizerId: customer.id,
      method: 'single_source',
      status: 'awaiting_agreement',
      discussion: false,
      lots: [{ ...LOT, ensTru: '620111.000.000000' }],
    });
    const release = await buildRelease(db, p.id, { tag: ['tender'], date: AT });
    assertValidRelease(release, 'release');
    const tender = tenderOf(release);
    assert.equal(tender.procurementMethod, 'direct');
    assert.equal(tender.procurementMethodDetails, 'Из одного источника');
    assert.equal(tender.mainProcurementCategory, 'services');
    assert.equal(tender.enquiryPeriod, undefined);
    assert.deepEqual(
      partiesOf(release).map((party) => party.roles),
      [['buyer', 'procuringEntity']],
    );
  });

  test('every status of ours maps into the tenderStatus codelist', async () => {
    const db = await setup(fresh);
    const { customer, organizer } = await parties(db);
    const p = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
    const expected: Record<string, string> = {
      draft: 'planning',
      published: 'active',
      accepting: 'active',
      awaiting_agreement: 'active',
      review: 'active',
      auction_pending: 'active',
      results: 'complete',
      appeal: 'active',
      completed: 'complete',
      cancelled: 'cancelled',
      refused: 'cancelled',
    };
    for (const [status, ocds] of Object.entries(expected)) {
      await db.query('UPDATE procurement SET status = $2 WHERE id = $1', [p.id, status]);
      const release = await buildRelease(db, p.id, { tag: ['tenderUpdate'], date: AT });
      assertValidRelease(release, status);
      assert.equal(tenderOf(release).status, ocds, status);
    }
  });

  test('the feed pages through every release in order and validates as packages', async () => {
    const db = await setup(fresh);
    const t = await testApp(db);
    const { customer, organizer } = await parties(db);
    const recorded: string[] = [];
    for (let n = 0; n < 3; n += 1) {
      const p = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
      await attach(db, p.id, organizer.id, 'documentation', 'public');
      recorded.push((await recordRelease(db, p.id, { tag: ['tender'], date: hours(n) })).releaseId);
      const amended = { tag: ['tenderAmendment'], date: hours(n + 0.5) };
      recorded.push((await recordRelease(db, p.id, amended)).releaseId);
    }

    await settled(db, recorded);
    const seen: string[] = [];
    let url = '/api/v1/open-data/releases?limit=4';
    for (let page = 0; page < 5; page += 1) {
      const response = await t.app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      if (body.releases.length === 0) break;
      assertValid(validateReleasePackage, body, `page ${page}`);
      assert.equal(body.version, '1.1');
      for (const release of body.releases as Release[]) {
        assertCodelists(release);
        for (const document of tenderOf(release).documents) {
          assert.ok(document.url.startsWith(`${t.config.publicBaseUrl}/api/v1/documents/`));
        }
      }
      seen.push(...body.releases.map((release: Release) => release.id));
      url = (body.links.next as string).slice(t.config.publicBaseUrl.length);
    }
    assert.deepEqual(seen, recorded);

    const after = await t.app.inject({ method: 'GET', url });
    assert.deepEqual(after.json().releases, []);
    assert.equal(after.json().links.next, `${t.config.publicBaseUrl}${url}`);
    await t.app.close();
  });

  test('a bad cursor or limit is refused with a stable code', async () => {
    const db = await setup(fresh);
    const t = await testApp(db);
    const garbage = Buffer.from('12.x').toString('base64url');
    for (const cursor of [garbage, 'bm90LWEtY3Vyc29y', 'Zm9v']) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/open-data/releases?cursor=${cursor}`,
      });
      assert.equal(response.statusCode, 400, cursor);
      assert.equal(response.json().code, 'feed.bad_cursor');
    }
    for (const query of ['limit=0', 'limit=501', 'cursor=a%2Fb', `cursor=${'A'.repeat(65)}`]) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/api/v1/open-data/releases?${query}`,
      });
      assert.equal(response.statusCode, 400, query);
      assert.equal(response.json().code, 'request.invalid');
    }
    await assert.rejects(releasesAfter(db, garbage, 10), { code: 'feed.bad_cursor' });
    await t.app.close();
  });

  test('one release and one record by id; unknown ones are 404 ocds.not_found', async () => {
    const db = await setup(fresh);
    const t = await testApp(db);
    const { customer, organizer } = await parties(db);
    const p = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
    const { releaseId } = await recordRelease(db, p.id, { tag: ['tender'], date: hours(1) });
    await db.query(`UPDATE procurement SET status = 'cancelled' WHERE id = $1`, [p.id]);
    await recordRelease(db, p.id, { tag: ['tenderCancellation'], date: hours(2) });

    const one = await t.app.inject({
      method: 'GET',
      url: `/api/v1/open-data/releases/${releaseId}`,
    });
    assert.equal(one.statusCode, 200, one.body);
    assertValid(validateReleasePackage, one.json(), 'release package');
    assert.deepEqual(
      one.json().releases.map((release: Release) => release.id),
      [releaseId],
    );

    const record = await t.app.inject({
      method: 'GET',
      url: `/api/v1/open-data/records/${p.ocid}`,
    });
    assert.equal(record.statusCode, 200, record.body);
    assertValid(validateRecordPackage, record.json(), 'record package');
    const [only] = record.json().records;
    assert.equal(only.ocid, p.ocid);
    assert.deepEqual(
      only.releases.map((release: Release) => release.tag[0]),
      ['tender', 'tenderCancellation'],
    );
    assert.deepEqual(only.compiledRelease.tag, ['compiled']);
    assert.equal(only.compiledRelease.tender.status, 'cancelled');
    assert.equal(only.compiledRelease.date, hours(2).toISOString());
    assert.equal(record.json().publishedDate, hours(2).toISOString());

    for (const url of [
      '/api/v1/open-data/releases/ocds-upp001-none',
      '/api/v1/open-data/records/ocds-upp001-2026-999999',
    ]) {
      const missing = await t.app.inject({ method: 'GET', url });
      assert.equal(missing.statusCode, 404, url);
      assert.equal(missing.json().code, 'ocds.not_found');
    }
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/open-data/records/not-an-ocid' });
    assert.equal(bad.statusCode, 400);
    await t.app.close();
  });

  test('the export streams one compiled record per procurement, gzipped', async () => {
    const db = await setup(fresh);
    const t = await testApp(db);
    const { customer, organizer } = await parties(db);
    const ocids: string[] = [];
    for (let n = 0; n < 5; n += 1) {
      const p = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
      ocids.push(p.ocid);
      await recordRelease(db, p.id, { tag: ['tender'], date: hours(n) });
      await recordRelease(db, p.id, { tag: ['tenderUpdate'], date: hours(n + 1) });
    }
    ocids.sort();

    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/open-data/export.jsonl.gz',
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/gzip');
    assert.match(
      String(response.headers['content-disposition']),
      /^attachment; filename="upp-ocds-records-\d{4}-\d{2}-\d{2}\.jsonl\.gz"$/,
    );
    const lines = gunzipSync(response.rawPayload).toString('utf8').trimEnd().split('\n');
    const records = lines.map((line) => JSON.parse(line));
    assert.deepEqual(
      records.map((record) => record.ocid),
      ocids,
    );
    const pack = {
      uri: 'https://example.kz/export',
      version: '1.1',
      publishedDate: AT.toISOString(),
    };
    assertValid(
      validateRecordPackage,
      { ...pack, publisher: { name: 'UPP' }, records },
      'exported records',
    );
    for (const record of records) {
      assert.equal(record.releases.length, 2);
      assert.ok(record.releases[0].url.startsWith(`${t.config.publicBaseUrl}/api/v1/open-data/`));
    }

    const paged: string[] = [];
    for await (const line of exportJsonLines(db, { pageSize: 2 })) {
      paged.push(JSON.parse(line).ocid);
    }
    assert.deepEqual(paged, ocids);
    await t.app.close();
  });

  test('a release of a transaction still open is not in the feed, even for itself', async () => {
    const db = await setup(fresh);
    const { customer, organizer } = await parties(db);
    const p = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
    const { releaseId } = await db.transaction(async (tx) => {
      const recorded = await recordRelease(tx, p.id, { tag: ['tender'], date: AT });
      assert.deepEqual((await releasesAfter(tx, undefined, 10)).releases, []);
      return recorded;
    });
    await settled(db, [releaseId]);
    const after = await releasesAfter(db, undefined, 10);
    assert.deepEqual(
      after.releases.map((release) => release.id),
      [releaseId],
    );
  });

  if (driver === 'pg') {
    test('the feed never passes a release whose transaction commits later', async () => {
      const testDb = await fresh();
      const db = await testDb.open();
      await migrate(db);
      const other = await testDb.openAnother();
      const { customer, organizer } = await parties(db);
      const held = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
      const later = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
      const before = await procurement(db, { customerId: customer.id, organizerId: organizer.id });
      const first = await recordRelease(db, before.id, { tag: ['tender'], date: AT });

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const insertedHeld = new Promise<void>((resolve) => (inserted = resolve));
      const holding = db.transaction(async (tx) => {
        const recorded = await recordRelease(tx, held.id, { tag: ['tender'], date: hours(1) });
        inserted();
        await gate;
        return recorded;
      });
      await insertedHeld;
      const committed = await other.transaction((tx) =>
        recordRelease(tx, later.id, { tag: ['tender'], date: hours(2) }),
      );

      await settled(other, [first.releaseId]);
      const page = await releasesAfter(other, undefined, 10);
      assert.deepEqual(
        page.releases.map((r) => r.id),
        [first.releaseId],
      );
      const empty = await releasesAfter(other, page.cursor, 10);
      assert.deepEqual(empty.releases, []);

      release();
      const heldRelease = await holding;
      await settled(other, [heldRelease.releaseId, committed.releaseId]);
      const rest = await releasesAfter(other, empty.cursor, 10);
      assert.deepEqual(
        rest.releases.map((r) => r.id),
        [heldRelease.releaseId, committed.releaseId],
      );
      const record = await compileRecord(other, held.ocid);
      assert.equal(record.releases.length, 1);
    });
  }
});
