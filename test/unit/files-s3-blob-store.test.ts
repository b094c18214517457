// The S3-compatible blob store: Signature Version 4 against the example in the Amazon S3 API
// reference, and the store's requests against a small S3 stand-in over a real socket.
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { isUppError } from '../../src/domain/errors.js';
import { S3BlobStore, signS3Request } from '../../src/files/s3-blob-store.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('SigV4: the GET Object example of the S3 API reference gives its signature', () => {
  const signed = signS3Request(
    {
      method: 'GET',
      url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
      headers: { range: 'bytes=0-9' },
      payloadSha256: EMPTY,
    },
    {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
    },
    new Date('2013-05-24T00:00:00Z'),
  );
  assert.equal(
    signed.headers.authorization,
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
      'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
      'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
  );
  assert.equal(signed.headers['x-amz-date'], '20130524T000000Z');
});

/** Objects in memory; as in S3, a PUT whose body differs from x-amz-content-sha256 fails. */
const objects = new Map<string, Buffer>();
const seen: string[] = [];
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const path = request.url ?? '';
    seen.push(`${request.method} ${path} ${String(request.headers.authorization).slice(0, 16)}`);
    const body = Buffer.concat(chunks);
    const stored = objects.get(path);
    if (request.method === 'PUT') {
      const declared = request.headers['x-amz-content-sha256'];
      if (declared !== createHash('sha256').update(body).digest('hex')) {
        response.writeHead(400).end('XAmzContentSHA256Mismatch');
        return;
      }
      objects.set(path, body);
      response.writeHead(200).end();
      return;
    }
    if (stored === undefined) {
      response.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(String(request.headers.range ?? ''));
    const slice = range ? stored.subarray(Number(range[1]), Number(range[2]) + 1) : stored;
    response.writeHead(range ? 206 : 200, { 'content-length': String(slice.length) });
    response.end(request.method === 'HEAD' ? undefined : slice);
  });
});
const listening = new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const spool = mkdtempSync(join(tmpdir(), 'upp-s3-'));
after(async () => {
  server.close();
  await rm(spool, { recursive: true, force: true });
});

async function store(): Promise<S3BlobStore> {
  await listening;
  const { port } = server.address() as AddressInfo;
  return new S3BlobStore(
    {
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'upp-blobs',
      region: 'kz-ala-1',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
    },
    spool,
  );
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

test('put, has, size, open and ranges through the S3 API; every request is signed', async () => {
  const blobs = await store();
  const body = 'Электрондық құжат';
  const sha256 = createHash('sha256').update(body).digest('hex');
  const stored = await blobs.put(Readable.from([Buffer.from(body)]));
  assert.deepEqual(stored, { sha256, size: Buffer.byteLength(body) });
  assert.equal(objects.get(`/upp-blobs/${sha256.slice(0, 2)}/${sha256}`)?.toString(), body);
  assert.equal(await blobs.has(sha256), true);
  assert.equal(await blobs.size(sha256), Buffer.byteLength(body));
  assert.equal(await text(await blobs.open(sha256)), body);
  assert.equal(await text(await blobs.open(sha256, { start: 0, end: 21 })), 'Электрондық');
  await assert.rejects(
    blobs.open(sha256, { start: 0, end: 999 }),
    (error) => isUppError(error) && error.code === 'blob.bad_range',
  );
  assert.equal(await blobs.has('0'.repeat(64)), false);
  await assert.rejects(
    blobs.open('0'.repeat(64)),
    (error) => isUppError(error) && error.code === 'blob.not_found',
  );
  assert.ok(seen.every((line) => line.endsWith('AWS4-HMAC-SHA256')));
});

test('adopt sends a finished file once and removes the local copy', async () => {
  const blobs = await store();
  const path = join(spool, 'finished.bin');
  writeFileSync(path, 'finished upload');
  const sha256 = createHash('sha256').update('finished upload').digest('hex');
  const before = seen.length;
  await blobs.adopt(path, { sha256, size: 15 });
  assert.equal(seen.filter((line, index) => index >= before && line.startsWith('PUT')).length, 1);
  writeFileSync(path, 'finished upload');
  await blobs.adopt(path, { sha256, size: 15 });
  assert.equal(seen.filter((line, index) => index >= before && line.startsWith('PUT')).length, 1);
});

test('bytes that do not match the declared SHA-256 are refused by the store', async () => {
  const blobs = await store();
  const path = join(spool, 'altered.bin');
  writeFileSync(path, 'altered');
  await assert.rejects(
    blobs.adopt(path, { sha256: 'a'.repeat(64), size: 7 }),
    (error) => isUppError(error) && error.code === 'blob.store_failed',
  );
});
