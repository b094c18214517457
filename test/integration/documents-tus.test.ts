// From tus upload to signed document on both databases: files sent through the real tus endpoint
// are signed by SHA-256, served back byte for byte, and an unfinished upload cannot be signed.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';
import { registerCompany } from '../support/participants.js';
import { nonce, sign } from '../support/signing.js';
import type { Key } from '../support/signing.js';

interface Owner {
  participantId: string;
  sign: Key;
  token: string;
}

async function registerOwner(t: TestApp): Promise<Owner> {
  const company = await registerCompany(t, 'gost2015');
  return { participantId: company.participantId, sign: company.head.sign, token: company.token };
}

const tus = (owner: Owner, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${owner.token}`,
  'tus-resumable': '1.0.0',
  ...extra,
});

/** Sends `bytes` through tus (creation, then one PATCH of `sent` bytes); returns the upload id. */
async function tusUpload(
  t: TestApp,
  owner: Owner,
  name: string,
  filetype: string,
  bytes: Buffer,
  sent = bytes.length,
): Promise<string> {
  const metadata = [`filename ${Buffer.from(name).toString('base64')}`];
  metadata.push(`filetype ${Buffer.from(filetype).toString('base64')}`);
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/uploads',
    headers: tus(owner, {
      'upload-length': String(bytes.length),
      'upload-metadata': metadata.join(','),
    }),
  });
  assert.equal(created.statusCode, 201, created.body);
  const location = String(created.headers.location);
  const patched = await t.app.inject({
    method: 'PATCH',
    url: location,
    headers: tus(owner, {
      'upload-offset': '0',
      'content-type': 'application/offset+octet-stream',
    }),
    payload: bytes.subarray(0, sent),
  });
  assert.equal(patched.statusCode, 204, patched.body);
  return location.split('/').at(-1)!;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function payloadFor(
  owner: Owner,
  value: string,
  files: { id: string; name: string; bytes: Buffer }[],
) {
  return {
    action: 'document.sign',
    nonce: value,
    form: 'copy',
    uploads: files.map((file) => ({
      uploadId: file.id,
      sha256: sha256(file.bytes),
      size: file.bytes.length,
      name: file.name,
    })),
    type: 'application.documents',
    titles: { kk: 'Өтінім құжаттары', ru: 'Документы заявки', en: 'Application documents' },
    language: 'ru',
    visibility: 'parties',
    participantId: owner.participantId,
  };
}

async function signCopy(t: TestApp, owner: Owner, payload: Record<string, unknown>) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/documents',
    headers: { authorization: `Bearer ${owner.token}` },
    payload: { payload, signature: sign(owner.sign, payload, t.clock.now()) },
  });
}

describeEachDatabase('documents from tus uploads', (fresh) => {
  const setup = async (): Promise<TestApp & { db: Database }> => {
    const db = await (await fresh()).open();
    await migrate(db);
    return { db, ...(await testApp(db)) };
  };

  test('a PDF and a two-volume archive sent by tus become documents, served intact', async () => {
    const t = await setup();
    const owner = await registerOwner(t);
    const pdf = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      randomBytes(50_000),
      Buffer.from('%%EOF\n'),
    ]);
    const pdfName = 'Өтінім №7.pdf';
    const pdfId = await tusUpload(t, owner, pdfName, 'application/pdf', pdf);
    const single = await signCopy(
      t,
      owner,
      payloadFor(owner, await nonce(t.app), [{ id: pdfId, name: pdfName, bytes: pdf }]),
    );
    assert.equal(single.statusCode, 201, single.body);
    assert.equal(single.json().receipt.files[0].sha256, sha256(pdf));
    const served = await t.app.inject({
      url: `/api/v1/documents/${single.json().documentId}/files/1`,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    assert.equal(served.statusCode, 200);
    assert.deepEqual(served.rawPayload, pdf);

    const archive = Buffer.concat([Buffer.from('504b0304', 'hex'), randomBytes(30_000)]);
    const volumes = [archive.subarray(0, 20_000), archive.subarray(20_000)].map((bytes, i) => ({
      name: `Сметалар.zip.00${i + 1}`,
      bytes: Buffer.from(bytes),
      id: '',
    }));
    for (const volume of volumes) {
      const type = volume.name.endsWith('001') ? 'application/zip' : 'application/octet-stream';
      volume.id = await tusUpload(t, owner, volume.name, type, volume.bytes);
    }
    const multi = await signCopy(t, owner, payloadFor(owner, await nonce(t.app), volumes));
    assert.equal(multi.statusCode, 201, multi.body);
    const parts = await Promise.all(
      [1, 2].map((n) =>
        t.app.inject({
          url: `/api/v1/documents/${multi.json().documentId}/files/${n}`,
          headers: { authorization: `Bearer ${owner.token}` },
        }),
      ),
    );
    assert.deepEqual(Buffer.concat(parts.map((part) => part.rawPayload)), archive);
  });

  test('an unfinished upload cannot be signed', async () => {
    const t = await setup();
    const owner = await registerOwner(t);
    const pdf = Buffer.concat([
      Buffer.from('%PDF-1.7\n'),
      randomBytes(10_000),
      Buffer.from('%%EOF\n'),
    ]);
    const id = await tusUpload(t, owner, 'Жарты.pdf', 'application/pdf', pdf, 4_000);
    const response = await signCopy(
      t,
      owner,
      payloadFor(owner, await nonce(t.app), [{ id, name: 'Жарты.pdf', bytes: pdf }]),
    );
    assert.equal(response.statusCode, 409, response.body);
    assert.equal(response.json().code, 'upload.incomplete');
    const documents = await t.db.query<{ n: bigint }>('SELECT count(*) AS n FROM document');
    assert.equal(Number(documents.rows[0]?.n), 0);
  });
});
