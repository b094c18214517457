// Applications with sealed price offers over real HTTP and signatures: before the deadline no
// route, log line or table shows a price; the chronograph opens them at the deadline.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { verifyInput } from '../../src/pki/verify.js';
import { advanceDue } from '../../src/services/chronograph.js';
import { receiptOf } from '../../src/services/receipts.js';
import { migrate } from '../../src/store/migrate.js';
import type { Database } from '../../src/store/database.js';
import { linkAll } from '../support/audit.js';
import { describeEachDatabase } from '../support/databases.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { registerCompany } from '../support/participants.js';
import type { Company } from '../support/participants.js';
import {
  available,
  fund,
  lotOf,
  moveTo,
  post,
  published,
  signed,
  submitOffer as submit,
  view,
} from '../support/procurements.js';

/** A price no other figure of the tests can look like, in every form it could leak in. */
const PRICE = '3987654.21';
const PRICE_FORMS = ['3987654.21', '398765421', '3987654,21', '3 987 654', '3987654'];

function leaks(text: string): string | undefined {
  return PRICE_FORMS.find((form) => text.includes(form));
}

/** Every text column of every table of the schema, as one string per row. */
async function everyRow(db: Database): Promise<string[]> {
  const tables = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  );
  const rows: string[] = [];
  for (const { table_name: table } of tables.rows) {
    const found = await db.query<{ row: string }>(
      `SELECT row_to_json(t)::text AS row FROM ${JSON.stringify(table)} t`,
    );
    rows.push(...found.rows.map((row) => `${table}: ${row.row}`));
  }
  return rows;
}

/** The GET paths of the API with every path parameter filled by each known id. */
function readPaths(t: TestApp, ids: readonly string[]): string[] {
  const spec = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(spec.paths)
    .filter(([, methods]) => 'get' in methods)
    .flatMap(([path]) => {
      if (!path.includes('{')) return [path];
      return ids.map((id) => path.replace(/\{[^}]+\}/g, id));
    });
}

describeEachDatabase('applications', (fresh) => {
  let t: TestApp;
  let customer: Company;
  let supplier: Company;
  const logs: string[] = [];

  before(async () => {
    const db = await (await fresh()).open();
    await migrate(db);
    t = await testApp(db, {}, undefined, { write: (line) => logs.push(line) });
    customer = await registerCompany(t);
    supplier = await registerCompany(t, 'gost2015');
    await fund(t, supplier, 1_000_000n);
  });

  test('a sealed offer shows its price nowhere before the deadline', async () => {
    const id = await published(t, customer);
    const submitted = await submit(t, supplier, id, PRICE);
    assert.equal(submitted.statusCode, 201, submitted.body);
    const { applicationId, receipt } = submitted.json();
    assert.equal(leaks(submitted.body), undefined, 'the answer');
    const application = await t.app.ctx.db.query<{ sealed_sha256: string }>(
      'SELECT sealed_sha256 FROM application WHERE id = $1',
      [applicationId],
    );
    assert.equal(receipt.sha256, application.rows[0]!.sealed_sha256, 'the receipt covers the seal');

    const ids = [id, applicationId, await lotOf(t, id), supplier.participantId, receipt.documentId];
    const readers = [undefined, supplier.token, customer.token];
    let read = 0;
    for (const path of readPaths(t, ids)) {
      for (const token of readers) {
        const response = await t.app.inject({
          method: 'GET',
          url: `/api/v1${path.replace(/^\/api\/v1/, '')}`.replace('/api/v1/health', '/health'),
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        });
        assert.equal(leaks(response.body), undefined, `GET ${path} shows the price`);
        read += 1;
      }
    }
    assert.ok(read > 50, `every read route was asked (${read} requests)`);
    const rows = await everyRow(t.app.ctx.db);
    assert.equal(
      rows.find((row) => leaks(row) !== undefined),
      undefined,
      'a table keeps the price in clear',
    );
    assert.equal(
      logs.find((line) => leaks(line) !== undefined),
      undefined,
      'a log line',
    );
    const refused = await submit(t, supplier, id, '-1');
    assert.equal(refused.statusCode, 400);
    assert.equal(leaks(refused.body), undefined);
  });

  test('the receipt says what the stored document says and verifies offline', async () => {
    const id = await published(t, customer);
    const submitted = await submit(t, supplier, id, '4200000.00');
    assert.equal(submitted.statusCode, 201, submitted.body);
    const receipt = submitted.json().receipt;
    const stored = await t.app.ctx.db.query<{
      action: string;
      payload_sha256: string;
      received_at: Date;
      serial: string;
    }>(
      `SELECT action, payload_sha256, received_at,
              report -> 'signers' -> 0 -> 'certificate' ->> 'serial' AS serial
         FROM signed_document WHERE id = $1`,
      [receipt.documentId],
    );
    const row = stored.rows[0]!;
    assert.deepEqual(
      [receipt.action, receipt.sha256, receipt.receivedAtUtc, receipt.signer.serial],
      [row.action, row.payload_sha256, row.received_at.toISOString(), row.serial],
    );
    assert.deepEqual(await receiptOf(t.app.ctx.db, receipt.documentId), receipt);
    const report = await verifyInput(JSON.stringify(receipt), {
      trust: t.pki.trust,
      at: t.clock.now(),
      revocation: 'none',
    });
    assert.equal(report.valid, true, JSON.stringify(report));
  });

  test('an offer 1 ms after the deadline is refused; the chronograph opens the rest', async () => {
    const id = await published(t, customer);
    const deadline = new Date((await view(t, customer, id)).offersEndAt);
    const start = t.clock.now();
    const rival = await registerCompany(t);
    await fund(t, rival, 45_000n);
    await moveTo(t, new Date(deadline.getTime() - 1), supplier, rival, customer);
    assert.equal((await submit(t, supplier, id, '4100000.00')).statusCode, 201);
    assert.equal((await submit(t, rival, id, '4000000.00')).statusCode, 201);
    await moveTo(t, new Date(deadline.getTime() + 1), supplier, rival, customer);
    const late = await submit(t, supplier, id, '3000000.00');
    assert.equal(late.statusCode, 409, late.body);
    assert.equal(late.json().code, 'offer.after_deadline');

    await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
    const opened = await t.app.ctx.db.query<{ price: bigint; rank: number; bin: string }>(
      `SELECT o.price, o.rank, p.bin FROM price_offer o
         JOIN application a ON a.id = o.application_id
         JOIN participant p ON p.id = a.supplier_participant_id
        WHERE a.procurement_id = $1 ORDER BY o.rank`,
      [id],
    );
    assert.deepEqual(
      opened.rows.map((row) => [row.bin, row.price, row.rank]),
      [
        [rival.bin, 400000000n, 1],
        [supplier.bin, 410000000n, 2],
      ],
    );
    const card = await t.app.inject(`/api/v1/public/procurements/${id}`);
    const protocol = card
      .json()
      .history.find((event: { kind: string }) => event.kind === 'offers_opened');
    assert.deepEqual(
      protocol.details.offers.map((offer: { price: string }) => offer.price),
      ['4000000.00', '4100000.00'],
      'the opening protocol is public',
    );

    // An outage over the last hour of acceptance, declared now: the prices are public, so
    // acceptance is not opened again for anyone to bid under them.
    const operator = await registerCompany(t);
    await t.app.ctx.db.query(
      "UPDATE participant SET roles = roles || ARRAY['single_operator'] WHERE id = $1",
      [operator.participantId],
    );
    await moveTo(t, t.clock.now(), operator);
    const declared = await post(
      t.app,
      '/api/v1/outages',
      operator.token,
      await signed(t, operator, 'outage.declare', {
        startsAt: new Date(deadline.getTime() - 3_600_000).toISOString(),
        endsAt: new Date(deadline.getTime() - 1_800_000).toISOString(),
        reason: 'Отказ дата-центра',
      }),
    );
    assert.equal(declared.statusCode, 201, declared.body);
    const outcome = declared.json() as {
      extended: { procurementId: string }[];
      notReopened: { procurementId: string; reason: string }[];
    };
    assert.ok(!outcome.extended.some((entry) => entry.procurementId === id));
    assert.deepEqual(
      outcome.notReopened.find((entry) => entry.procurementId === id),
      { procurementId: id, reason: 'offers_opened' },
    );
    const after = await view(t, customer, id);
    assert.equal(after.status, 'review');
    assert.equal(after.offersEndAt, deadline.toISOString());
    await linkAll(t.app.ctx.db);
    const audit = await t.app.ctx.db.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM audit_log
        WHERE action = 'procurement.outage_after_opening' AND target = $1`,
      [`procurement:${id}`],
    );
    assert.equal(audit.rows[0]!.n, 1n);
    await moveTo(t, start, supplier, customer);
  });

  test('a new signed version replaces the application; a withdrawn one is not opened', async () => {
    const id = await published(t, customer);
    const first = await submit(t, supplier, id, '4400000.00');
    const second = await submit(t, supplier, id, '4300000.00');
    assert.equal(second.json().version, 2);
    const mine = await t.app.inject({
      method: 'GET',
      url: `/api/v1/procurements/${id}/applications/mine`,
      headers: { authorization: `Bearer ${supplier.token}` },
    });
    assert.deepEqual(
      mine.json().items.map((item: { status: string }) => item.status),
      ['submitted', 'replaced'],
    );
    assert.equal(mine.json().items[1].applicationId, first.json().applicationId);
    const withdrawal = await post(
      t.app,
      `/api/v1/procurements/${id}/applications/withdrawal`,
      supplier.token,
      await signed(t, supplier, 'application.withdraw', { procurementId: id }),
    );
    assert.equal(withdrawal.statusCode, 200, withdrawal.body);
    const start = t.clock.now();
    const deadline = new Date((await view(t, customer, id)).offersEndAt);
    await moveTo(t, new Date(deadline.getTime() + 1), supplier, customer);
    await advanceDue(t.app.ctx.db, { clock: t.clock, sealing: t.app.ctx.sealing });
    const opened = await t.app.ctx.db.query(
      `SELECT 1 FROM price_offer o JOIN application a ON a.id = o.application_id
        WHERE a.procurement_id = $1`,
      [id],
    );
    assert.equal(opened.rows.length, 0);
    await moveTo(t, start, supplier, customer);
  });

  test('two offers at once from a wallet that covers one: one secured, one refused', async () => {
    const first = await published(t, customer);
    const second = await published(t, customer);
    const lean = await registerCompany(t);
    await fund(t, lean, 60_000n);
    const answers = await Promise.all([
      submit(t, lean, first, '4400000.00'),
      submit(t, lean, second, '4400000.00'),
    ]);
    assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [201, 422]);
    const refused = answers.find((answer) => answer.statusCode === 422)!;
    assert.equal(refused.json().code, 'wallet.insufficient');
    assert.equal(await available(t, lean), 1_500_000n);
  });

  test('1% of each lot is held, and given back on replacement and withdrawal', async () => {
    const id = await published(t, customer);
    const before = await available(t, supplier);
    assert.equal((await submit(t, supplier, id, '4400000.00')).statusCode, 201);
    assert.equal(before - (await available(t, supplier)), 4_500_000n, '1% of 4,500,000.00 tenge');
    assert.equal((await submit(t, supplier, id, '4300000.00')).statusCode, 201);
    assert.equal(before - (await available(t, supplier)), 4_500_000n, 'the old hold is released');
    const withdrawal = await post(
      t.app,
      `/api/v1/procurements/${id}/applications/withdrawal`,
      supplier.token,
      await signed(t, supplier, 'application.withdraw', { procurementId: id }),
    );
    assert.equal(withdrawal.statusCode, 200, withdrawal.body);
    assert.equal(await available(t, supplier), before);
    const lotId = await lotOf(t, id);
    const unsecured = await post(
      t.app,
      `/api/v1/procurements/${id}/applications`,
      supplier.token,
      await signed(t, supplier, 'application.submit', {
        procurementId: id,
        lots: [{ lotId, price: '4300000.00' }],
      }),
    );
    assert.equal(unsecured.statusCode, 422, unsecured.body);
    assert.equal(unsecured.json().code, 'application.security_missing');
    const poor = await registerCompany(t);
    await fund(t, poor, 44_999n);
    const short = await submit(t, poor, id, '4300000.00');
    assert.equal(short.statusCode, 422, short.body);
    assert.equal(short.json().code, 'wallet.insufficient');
    const stored = await t.app.ctx.db.query(
      'SELECT 1 FROM application WHERE supplier_participant_id = $1',
      [poor.participantId],
    );
    assert.equal(stored.rows.length, 0, 'a refused application leaves nothing');
  });

  test('Idempotency-Key: a retry gets the first answer, another body is refused', async () => {
    const id = await published(t, customer);
    const lotId = await lotOf(t, id);
    const body = await signed(t, supplier, 'application.submit', {
      procurementId: id,
      lots: [{ lotId, price: '4200000.00', security: { kind: 'wallet' } }],
    });
    const url = `/api/v1/procurements/${id}/applications`;
    const headers = { 'idempotency-key': 'retry-7f3a' };
    const first = await post(t.app, url, supplier.token, body, headers);
    const again = await post(t.app, url, supplier.token, body, headers);
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().applicationId, first.json().applicationId);
    const other = await submit(t, supplier, id, '4100000.00', headers);
    assert.equal(other.statusCode, 422, other.body);
    assert.equal(other.json().code, 'idempotency.key_reused');
  });

  test('simultaneous offers of many suppliers are all kept', async () => {
    const id = await published(t, customer);
    const suppliers = [];
    for (let index = 0; index < 5; index += 1) {
      const one = await registerCompany(t);
      await fund(t, one, 45_000n);
      suppliers.push(one);
    }
    const answers = await Promise.all(
      suppliers.map((one, index) => submit(t, one, id, `${4_000_000 + index * 1000}.00`)),
    );
    assert.deepEqual(
      answers.map((answer) => answer.statusCode),
      [201, 201, 201, 201, 201],
    );
    const kept = await t.app.ctx.db.query(
      "SELECT 1 FROM application WHERE procurement_id = $1 AND status = 'submitted'",
      [id],
    );
    assert.equal(kept.rows.length, 5);
  });

  test('no bid in your own procurement, and no price above the lot', async () => {
    const id = await published(t, customer);
    await fund(t, customer, 45_000n);
    const own = await submit(t, customer, id, '4000000.00');
    assert.equal(own.statusCode, 403, own.body);
    assert.equal(own.json().code, 'application.own_procurement');
    const above = await submit(t, supplier, id, '4500000.01');
    assert.equal(above.statusCode, 422, above.body);
    assert.equal(above.json().code, 'offer.above_planned');
  });
});
