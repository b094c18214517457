// Documents over HTTP on both databases: electronic copies, structured documents and multi-volume
// archives signed with demo RSA and GOST keys, refusals, receipts checked by `upp verify`, and
// downloads (ETag, 304, Range, 416, RFC 6266 names, parties-only visibility).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { verifyCommand } from '../../src/cli/pki.js';
import { canonicalJson } from '../../src/domain/canonical-json.js';
import { blobStoreFor } from '../../src/files/blob-store.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { linkAll } from '../support/audit.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import { registerCompany as registerLegalEntity } from '../support/participants.js';
import { nonce, sign } from '../support/signing.js';
import type { Key } from '../support/signing.js';

type Alg = 'rsa' | 'gost2015';

interface Company {
  participantId: string;
  userId: string;
  sign: Key;
  token: string;
}

interface Setup extends TestApp {
  db: Database;
}

async function registerCompany(t: Setup, alg: Alg = 'rsa'): Promise<Company> {
  const company = await registerLegalEntity(t, alg);
  const user = await t.db.query<{ id: string }>('SELECT id FROM user_account WHERE iin = $1', [
    company.headIin,
  ]);
  return {
    participantId: company.participantId,
    userId: user.rows[0]!.id,
    sign: company.head.sign,
    token: company.token,
  };
}

interface Upload {
  uploadId: string;
  sha256: string;
  size: number;
  name: string;
  bytes: Buffer;
}

/** A finished upload of `owner`: its bytes in the blob store and its row, as tus leaves them. */
async function upload(t: Setup, owner: Company, name: string, bytes: Buffer): Promise<Upload> {
  const stored = await blobStoreFor(t.config).put(Readable.from([bytes]));
  const uploadId = randomUUID();
  const now = t.clock.now();
  await t.db.query(
    `INSERT INTO upload (id, owner_user_id, length, upload_offset, filename, filetype, metadata,
       status, sha256, created_at, expires_at, completed_at)
     VALUES ($1, $2, $3, $3, $4, $5, '{}'::jsonb, 'complete', $6, $7, $8, $7)`,
    [
      uploadId,
      owner.userId,
      bytes.length,
      name,
      name.endsWith('.pdf') ? 'application/pdf' : 'application/octet-stream',
      stored.sha256,
      now,
      new Date(now.getTime() + 86_400_000),
    ],
  );
  return { uploadId, sha256: stored.sha256, size: bytes.length, name, bytes };
}

const pdf = (text: string) => Buffer.from(`%PDF-1.7\n${text}\n%%EOF\n`);

function copyPayload(
  owner: Company,
  value: string,
  uploads: Upload[],
  visibility: 'public' | 'parties' = 'public',
) {
  return {
    action: 'document.sign',
    nonce: value,
    form: 'copy',
    uploads: uploads.map(({ uploadId, sha256, size, name }) => ({ uploadId, sha256, size, name })),
    type: 'tender.documentation',
    titles: { kk: 'Конкурстық құжаттама', ru: 'Конкурсная документация', en: 'Tender dossier' },
    language: 'kk',
    visibility,
    participantId: owner.participantId,
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signDocument(
  t: Setup,
  owner: Company,
  payload: Record<string, unknown>,
  key: Key = owner.sign,
) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/documents',
    headers: bearer(owner.token),
    payload: { payload, signature: sign(key, payload, t.clock.now()) },
  });
}

async function count(db: Database, sql: string): Promise<number> {
  const rows = await db.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${sql}`);
  return Number(rows.rows[0]?.n);
}

/** `upp verify RECEIPT.json --json` in-process, trusting the test app's demo CA. */
async function verifyReceipt(t: Setup, receipt: unknown) {
  const path = join(t.config.dataDir, `receipt-${randomUUID()}.json`);
  writeFileSync(path, JSON.stringify(receipt, null, 2));
  const saved = { ...process.env };
  const out: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => out.push(parts.join(' '));
  Object.assign(process.env, {
    NODE_ENV: 'test',
    UPP_DATA_DIR: t.config.dataDir,
    UPP_PKI_TRUST: 'demo',
  });
  try {
    const code = await verifyCommand([path, '--json']);
    return { code, report: JSON.parse(out.join('\n')) as { kind: string; valid: boolean } };
  } finally {
    console.log = log;
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** The UTF-8 name of a Content-Disposition header (RFC 8187 `filename*`). */
function dispositionName(header: unknown): { utf8: string; ascii: string } {
  const value = String(header);
  const utf8 = /filename\*=UTF-8''([^;]+)/.exec(value)?.[1] ?? '';
  const ascii = /filename="([^"]*)"/.exec(value)?.[1] ?? '';
  return { utf8: decodeURIComponent(utf8), ascii };
}

describeEachDatabase('documents and receipts', (fresh) => {
  const setup = async (): Promise<Setup> => {
    const db = await (await fresh()).open();
    await migrate(db);
    return { db, ...(await testApp(db)) };
  };

  for (const alg of ['rsa', 'gost2015'] as const) {
    test(`an electronic copy is signed and gets a receipt that verifies (${alg})`, async () => {
      const t = await setup();
      const owner = await registerCompany(t, alg);
      const file = await upload(t, owner, 'Шарт №12.pdf', pdf('келісім'));
      const payload = copyPayload(owner, await nonce(t.app), [file]);
      const response = await signDocument(t, owner, payload);
      assert.equal(response.statusCode, 201, response.body);
      const { documentId, receipt } = response.json();

      assert.equal(receipt.documentId, documentId);
      assert.equal(receipt.receivedAt, '2026-03-02T09:00:00.000+05:00');
      assert.equal(receipt.receivedAtUtc, '2026-03-02T04:00:00.000Z');
      const canonical = canonicalJson(payload);
      assert.equal(receipt.sha256, createHash('sha256').update(canonical).digest('hex'));
      assert.deepEqual(receipt.files, [
        { position: 1, name: file.name, size: file.size, sha256: file.sha256 },
      ]);
      assert.equal(receipt.signer.serial, owner.sign.certificate.serialHex);
      assert.equal(receipt.signer.bin, owner.sign.certificate.profile.bin);

      const receiptUrl = `/api/v1/documents/${documentId}/receipt`;
      const anonymous = await t.app.inject(receiptUrl);
      assert.equal(anonymous.statusCode, 404, 'the receipt names the signer: parties only');
      const served = await t.app.inject({ url: receiptUrl, headers: bearer(owner.token) });
      assert.equal(served.statusCode, 200);
      assert.deepEqual(served.json(), receipt);
      const verified = await verifyReceipt(t, served.json());
      assert.equal(verified.report.kind, 'receipt');
      assert.equal(verified.report.valid, true, JSON.stringify(verified.report));
      assert.equal(verified.code, 0);
      const tampered = await verifyReceipt(t, { ...receipt, files: [] });
      assert.equal(tampered.report.valid, false);
      assert.equal(tampered.code, 1);

      const metadata = await t.app.inject(`/api/v1/documents/${documentId}`);
      assert.equal(metadata.statusCode, 200);
      const document = metadata.json();
      assert.equal(document.form, 'copy');
      assert.equal(document.titles.kk, 'Конкурстық құжаттама');
      assert.equal(document.files[0].url, `/api/v1/documents/${documentId}/files/1`);
      await linkAll(t.db);
      const audit = await t.db.query<{ action: string }>(
        "SELECT action FROM audit_log WHERE action = 'document.sign'",
      );
      assert.equal(audit.rows.length, 1);
    });
  }

  test('a structured document: CMS over canonical JSON, content returned as signed', async () => {
    const t = await setup();
    const owner = await registerCompany(t, 'gost2015');
    const content = { lots: [{ number: 1, name: 'Қағаз А4', quantity: 500 }], note: 'Ёлка' };
    const payload = {
      action: 'document.sign',
      nonce: await nonce(t.app),
      form: 'structured',
      content,
      type: 'procurement.plan',
      titles: { kk: 'Сатып алу жоспары', ru: 'План закупок', en: 'Procurement plan' },
      language: 'ru',
      visibility: 'public',
      participantId: owner.participantId,
    };
    const response = await signDocument(t, owner, payload);
    assert.equal(response.statusCode, 201, response.body);
    const { documentId, receipt } = response.json();
    assert.deepEqual(receipt.files, []);
    assert.equal(receipt.sha256, createHash('sha256').update(canonicalJson(payload)).digest('hex'));
    const document = (await t.app.inject(`/api/v1/documents/${documentId}`)).json();
    assert.deepEqual(document.content, content);
    assert.deepEqual(document.files, []);
    const noFile = await t.app.inject(`/api/v1/documents/${documentId}/files/1`);
    assert.equal(noFile.statusCode, 404);
    assert.equal(noFile.json().code, 'document.not_found');

    const mixed = await signDocument(t, owner, {
      ...payload,
      nonce: await nonce(t.app),
      form: 'copy',
    });
    assert.equal(mixed.json().code, 'document.invalid', mixed.body);
  });

  test('a multi-volume archive is one document with ordered parts', async () => {
    const t = await setup();
    const owner = await registerCompany(t);
    const volumes = await Promise.all(
      [1, 2, 3].map((n) =>
        upload(t, owner, `Сметалар.zip.00${n}`, Buffer.from(`volume ${n} `.repeat(n * 10))),
      ),
    );
    const response = await signDocument(t, owner, copyPayload(owner, await nonce(t.app), volumes));
    assert.equal(response.statusCode, 201, response.body);
    const { documentId } = response.json();
    const document = (await t.app.inject(`/api/v1/documents/${documentId}`)).json();
    assert.deepEqual(
      document.files.map((f: { position: number; name: string }) => [f.position, f.name]),
      volumes.map((v, index) => [index + 1, v.name]),
    );
    for (const [index, volume] of volumes.entries()) {
      const part = await t.app.inject(`/api/v1/documents/${documentId}/files/${index + 1}`);
      assert.equal(part.statusCode, 200);
      assert.deepEqual(part.rawPayload, volume.bytes);
    }

    const [first, second, third] = volumes as [Upload, Upload, Upload];
    const stray = await upload(t, owner, 'Басқа.zip.002', Buffer.from('other'));
    for (const order of [
      [first, third],
      [second, first, third],
      [first, stray],
    ]) {
      const refused = await signDocument(t, owner, copyPayload(owner, await nonce(t.app), order));
      assert.equal(refused.statusCode, 422);
      assert.equal(refused.json().code, 'document.volumes_invalid', refused.body);
    }
  });

  test('refusals leave an audit entry and nothing else', async () => {
    const t = await setup();
    const owner = await registerCompany(t);
    const stranger = await registerCompany(t, 'gost2015');
    const mine = await upload(t, owner, 'Өтінім.pdf', pdf('өтінім'));
    const theirs = await upload(t, stranger, 'Чужой.pdf', pdf('чужой'));
    const cases: [string, number, Record<string, unknown>, Key][] = [
      ['upload.not_found', 404, copyPayload(owner, await nonce(t.app), [theirs]), owner.sign],
      [
        'document.upload_mismatch',
        422,
        copyPayload(owner, await nonce(t.app), [{ ...mine, sha256: theirs.sha256 }]),
        owner.sign,
      ],
      [
        'document.upload_mismatch',
        422,
        copyPayload(owner, await nonce(t.app), [{ ...mine, size: mine.size + 1 }]),
        owner.sign,
      ],
      [
        'signer.not_session_user',
        403,
        copyPayload(owner, await nonce(t.app), [mine]),
        stranger.sign,
      ],
      [
        'document.name_invalid',
        422,
        copyPayload(owner, await nonce(t.app), [{ ...mine, name: '../etc/passwd' }]),
        owner.sign,
      ],
      [
        'session.acting_for_other',
        403,
        {
          ...copyPayload(owner, await nonce(t.app), [mine]),
          participantId: stranger.participantId,
        },
        owner.sign,
      ],
    ];
    for (const [code, status, payload, key] of cases) {
      const response = await signDocument(t, owner, payload, key);
      assert.equal(response.json().code, code, response.body);
      assert.equal(response.statusCode, status);
    }
    assert.equal(await count(t.db, 'document'), 0);
    assert.equal(await count(t.db, 'document_file'), 0);
    assert.equal(await count(t.db, 'receipt'), 0);
    assert.equal(await count(t.db, "signed_document WHERE action = 'document.sign'"), 0);
    await linkAll(t.db);
    const refusals = await t.db.query<{ details: { code: string } }>(
      "SELECT details FROM audit_log WHERE action = 'document.sign.refused' ORDER BY seq",
    );
    assert.deepEqual(
      refusals.rows.map((row) => row.details.code),
      cases.map(([code]) => code),
    );
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/documents',
      payload: {
        payload: copyPayload(owner, await nonce(t.app), [mine]),
        signature: 'A'.repeat(16),
      },
    });
    assert.equal(anonymous.statusCode, 401);
  });

  test('downloads: ETag, 304, Range 206, 416, RFC 6266 names, nosniff, caching', async () => {
    const t = await setup();
    const owner = await registerCompany(t);
    const bytes = pdf('0123456789'.repeat(10));
    const names = ['Тендерлік құжаттама (соңғы) №3.pdf', 'Договор "поставки" 2026.pdf'];
    const files = await Promise.all(names.map((name) => upload(t, owner, name, bytes)));
    const ids: string[] = [];
    for (const file of files) {
      const response = await signDocument(t, owner, copyPayload(owner, await nonce(t.app), [file]));
      assert.equal(response.statusCode, 201, response.body);
      ids.push(response.json().documentId);
    }
    for (const [index, id] of ids.entries()) {
      const url = `/api/v1/documents/${id}/files/1`;
      const whole = await t.app.inject(url);
      assert.equal(whole.statusCode, 200);
      assert.deepEqual(whole.rawPayload, bytes);
      assert.equal(whole.headers.etag, `"${files[index]!.sha256}"`);
      assert.equal(whole.headers['content-length'], String(bytes.length));
      assert.equal(whole.headers['content-type'], 'application/pdf');
      assert.equal(whole.headers['x-content-type-options'], 'nosniff');
      assert.match(String(whole.headers['cache-control']), /^public, max-age=\d+/);
      const name = dispositionName(whole.headers['content-disposition']);
      assert.equal(name.utf8, names[index]);
      assert.match(name.ascii, /^[\x20-\x7e]+$/);
      assert.doesNotMatch(name.ascii, /["\\]/);
      assert.match(String(whole.headers['content-disposition']), /^attachment; /);

      const head = await t.app.inject({ method: 'HEAD', url });
      assert.equal(head.statusCode, 200);
      assert.equal(head.headers['content-length'], String(bytes.length));
      assert.equal(head.headers.etag, whole.headers.etag);
      assert.equal(head.rawPayload.length, 0);

      const cached = await t.app.inject({ url, headers: { 'if-none-match': whole.headers.etag } });
      assert.equal(cached.statusCode, 304);
      assert.equal(cached.rawPayload.length, 0);
      const changed = await t.app.inject({ url, headers: { 'if-none-match': '"0000"' } });
      assert.equal(changed.statusCode, 200);

      const part = await t.app.inject({ url, headers: { range: 'bytes=9-18' } });
      assert.equal(part.statusCode, 206);
      assert.equal(part.headers['content-range'], `bytes 9-18/${bytes.length}`);
      assert.deepEqual(part.rawPayload, bytes.subarray(9, 19));
      const tail = await t.app.inject({ url, headers: { range: 'bytes=-7' } });
      assert.equal(tail.statusCode, 206);
      assert.deepEqual(tail.rawPayload, bytes.subarray(bytes.length - 7));
      const open = await t.app.inject({ url, headers: { range: `bytes=${bytes.length - 3}-` } });
      assert.deepEqual(open.rawPayload, bytes.subarray(bytes.length - 3));
      const stale = await t.app.inject({
        url,
        headers: { range: 'bytes=0-3', 'if-range': '"other"' },
      });
      assert.equal(stale.statusCode, 200, 'a stale If-Range gets the whole file');

      for (const range of [`bytes=${bytes.length}-`, 'bytes=5-2', 'bytes=-0', 'bytes=x-y']) {
        const refused = await t.app.inject({ url, headers: { range } });
        assert.equal(refused.statusCode, 416, range);
        assert.equal(refused.json().code, 'document.range_invalid');
        assert.equal(refused.headers['content-range'], `bytes */${bytes.length}`);
      }
    }
  });

  test('parties-only documents are hidden from strangers and anonymous readers', async () => {
    const t = await setup();
    const owner = await registerCompany(t);
    const stranger = await registerCompany(t, 'gost2015');
    const file = await upload(t, owner, 'Коммерческое предложение.pdf', pdf('цена'));
    const payload = copyPayload(owner, await nonce(t.app), [file], 'parties');
    const response = await signDocument(t, owner, payload);
    assert.equal(response.statusCode, 201, response.body);
    const { documentId } = response.json();
    for (const path of ['', '/files/1', '/receipt']) {
      const url = `/api/v1/documents/${documentId}${path}`;
      const anonymous = await t.app.inject(url);
      assert.equal(anonymous.statusCode, 404, url);
      assert.equal(anonymous.json().code, 'document.not_found');
      const other = await t.app.inject({ url, headers: bearer(stranger.token) });
      assert.equal(other.statusCode, 404, url);
      const own = await t.app.inject({ url, headers: bearer(owner.token) });
      assert.equal(own.statusCode, 200, url);
    }
    const own = await t.app.inject({
      url: `/api/v1/documents/${documentId}/files/1`,
      headers: bearer(owner.token),
    });
    assert.match(String(own.headers['cache-control']), /^private/);
    assert.deepEqual(own.rawPayload, file.bytes);
    const unknown = await t.app.inject(`/api/v1/documents/${randomUUID()}`);
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'document.not_found');
  });
});
