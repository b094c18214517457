// The file-system blob store: content addressing, atomic placement, ranges and streaming input.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { FileSystemBlobStore, blobStoreFor } from '../../src/files/blob-store.js';
import { ConfigError } from '../../src/config/index.js';
import { isUppError } from '../../src/domain/errors.js';
import { S3BlobStore } from '../../src/files/s3-blob-store.js';

const root = mkdtempSync(join(tmpdir(), 'upp-blobs-'));
after(() => rm(root, { recursive: true, force: true }));

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

test('put names a blob by its SHA-256 and open returns its bytes and ranges', async () => {
  const store = new FileSystemBlobStore(join(root, 'a'));
  const body = 'Сатып алу – procurement';
  const expected = createHash('sha256').update(body).digest('hex');
  const stored = await store.put(
    Readable.from([Buffer.from(body.slice(0, 5)), Buffer.from(body.slice(5))]),
  );
  assert.equal(stored.sha256, expected);
  assert.equal(stored.size, Buffer.byteLength(body));
  assert.equal(await store.has(expected), true);
  assert.equal(await store.size(expected), Buffer.byteLength(body));
  assert.equal(await text(await store.open(expected)), body);
  assert.equal(await text(await store.open(expected, { start: 0, end: 5 })), 'Сат');
  assert.deepEqual(readdirSync(join(root, 'a', 'tmp')), []);
});

test('the same content stored twice is one blob', async () => {
  const store = new FileSystemBlobStore(join(root, 'b'));
  const first = await store.put(Readable.from([Buffer.from('same')]));
  const second = await store.put(Readable.from([Buffer.from('same')]));
  assert.deepEqual(first, second);
  assert.deepEqual(readdirSync(join(root, 'b', first.sha256.slice(0, 2))), [first.sha256]);
});

test('adopt moves a file whose hash is known into place', async () => {
  const store = new FileSystemBlobStore(join(root, 'c'));
  const path = join(root, 'incoming.bin');
  writeFileSync(path, 'adopted bytes');
  const sha256 = createHash('sha256').update('adopted bytes').digest('hex');
  await store.adopt(path, { sha256, size: 13 });
  assert.equal(await text(await store.open(sha256)), 'adopted bytes');
  assert.equal(readdirSync(root).includes('incoming.bin'), false);
});

test('unknown blobs, bad names and ranges outside the blob are refused with codes', async () => {
  const store = new FileSystemBlobStore(join(root, 'd'));
  const missing = '0'.repeat(64);
  assert.equal(await store.has(missing), false);
  assert.equal(await store.size(missing), undefined);
  await assert.rejects(
    store.open(missing),
    (error) => isUppError(error) && error.code === 'blob.not_found',
  );
  await assert.rejects(
    store.has('../../etc/passwd'),
    (error) => isUppError(error) && error.code === 'blob.bad_hash',
  );
  const { sha256 } = await store.put(Readable.from([Buffer.from('abc')]));
  for (const range of [
    { start: 0, end: 3 },
    { start: 2, end: 1 },
    { start: -1, end: 1 },
  ]) {
    await assert.rejects(
      store.open(sha256, range),
      (error) => isUppError(error) && error.code === 'blob.bad_range',
    );
  }
});

test('a failing source leaves no blob and no temporary file', async () => {
  const store = new FileSystemBlobStore(join(root, 'e'));
  async function* broken() {
    yield Buffer.from('partial');
    throw new Error('connection lost');
  }
  await assert.rejects(store.put(broken()), /connection lost/);
  assert.deepEqual(readdirSync(join(root, 'e', 'tmp')), []);
});

test('blobStoreFor gives one store per data directory', () => {
  assert.equal(
    blobStoreFor({ dataDir: join(root, 'x') }),
    blobStoreFor({ dataDir: join(root, 'x') }),
  );
  assert.notEqual(
    blobStoreFor({ dataDir: join(root, 'x') }),
    blobStoreFor({ dataDir: join(root, 'y') }),
  );
});

test('UPP_BLOB_STORE=s3 needs its settings, and then every caller gets the S3 store', () => {
  const dataDir = join(root, 's3');
  assert.throws(
    () => blobStoreFor({ dataDir, blobStore: 's3', s3Bucket: 'upp-blobs' }),
    (error) => error instanceof ConfigError && error.variable === 'UPP_S3_ENDPOINT',
  );
  const chosen = blobStoreFor({
    dataDir,
    blobStore: 's3',
    s3Endpoint: 'http://127.0.0.1:9000',
    s3Bucket: 'upp-blobs',
    s3AccessKeyId: 'AKIDEXAMPLE',
    s3SecretAccessKey: 'secret',
  });
  assert.ok(chosen instanceof S3BlobStore);
  assert.equal(blobStoreFor({ dataDir }), chosen);
});
