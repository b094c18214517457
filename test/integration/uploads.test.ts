// The tus endpoint over both databases: creation, parts, offsets, the 20 MiB part limit, checksums,
// ownership, expiry, names, empty files, magic bytes and resuming after a dropped connection.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { isUppError } from '../../src/domain/errors.js';
import { blobStoreFor } from '../../src/files/blob-store.js';
import { PART_MAX_BYTES } from '../../src/files/receiver.js';
import { completedUpload } from '../../src/files/uploads.js';
import type { Database } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { testApp } from '../support/app.js';
import type { TestApp } from '../support/app.js';
import { describeEachDatabase } from '../support/databases.js';

const PDF = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(2000), Buffer.from('%%EOF\n')]);
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

interface UploadUser {
  userId: string;
  token: string;
}

/** A live session for `userId`, written straight to the table login fills. */
async function sessionFor(db: Database, userId: string, now: Date): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.query(
    `INSERT INTO session (id, token_sha256, user_id, certificate_serial, created_at, last_seen_at,
       expires_at)
     VALUES ($1, $2, $3, '01', $4, $4, $5)`,
    [
      randomUUID(),
      createHash('sha256').update(token).digest('hex'),
      userId,
      now,
      new Date(now.getTime() + 3_600_000),
    ],
  );
  return token;
}

async function userWithSession(db: Database, now: Date): Promise<UploadUser> {
  const userId = randomUUID();
  const iin = String(100_000_000_000 + Math.floor(Math.random() * 800_000_000_000));
  await db.query(
    `INSERT INTO user_account (id, identity, iin, full_name, created_at)
     VALUES ($1, $2, $3, 'Сапаров Ерлан', $4)`,
    [userId, `iin:${iin}`, iin, now],
  );
  return { userId, token: await sessionFor(db, userId, now) };
}

function metadata(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([key, value]) => `${key} ${Buffer.from(value).toString('base64')}`)
    .join(',');
}

function tusHeaders(user: UploadUser, extra: Record<string, string> = {}) {
  return { authorization: `Bearer ${user.token}`, 'tus-resumable': '1.0.0', ...extra };
}

async function create(
  app: FastifyInstance,
  user: UploadUser,
  length: number,
  meta: Record<string, string>,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/api/v1/uploads',
    headers: tusHeaders(user, {
      'upload-length': String(length),
      'upload-metadata': metadata(meta),
    }),
  });
}

async function created(
  app: FastifyInstance,
  user: UploadUser,
  length: number,
  meta: Record<string, string>,
): Promise<string> {
  const response = await create(app, user, length, meta);
  assert.equal(response.statusCode, 201, response.body);
  return String(response.headers.location);
}

function patch(
  app: FastifyInstance,
  user: UploadUser,
  location: string,
  offset: number,
  body: Buffer,
  extra: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'PATCH',
    url: location,
    headers: tusHeaders(user, {
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      ...extra,
    }),
    payload: body,
  });
}

async function offsetOf(app: FastifyInstance, user: UploadUser, location: string) {
  const response = await app.inject({ method: 'HEAD', url: location, headers: tusHeaders(user) });
  assert.equal(response.statusCode, 200, response.body);
  return Number(response.headers['upload-offset']);
}

function problemCode(response: LightMyRequestResponse): string {
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  return (response.json() as { code: string }).code;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const idOf = (location: string) => location.split('/').pop() ?? '';

/** A PATCH over a real socket with a streamed body of `body`, optionally without Content-Length. */
function streamPatch(
  base: string,
  user: UploadUser,
  location: string,
  offset: number,
  body: Buffer,
  options: { chunked?: boolean; dropAfter?: number } = {},
): Promise<{ status: number; headers: Record<string, unknown>; text: string } | 'dropped'> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = tusHeaders(user, {
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
    });
    if (options.chunked !== true) headers['content-length'] = String(body.length);
    const outgoing = httpRequest(new URL(location, base), { method: 'PATCH', headers }, (reply) => {
      const chunks: Buffer[] = [];
      reply.on('data', (chunk: Buffer) => chunks.push(chunk));
      reply.on('end', () =>
        resolve({
          status: reply.statusCode ?? 0,
          headers: reply.headers,
          text: Buffer.concat(chunks).toString(),
        }),
      );
    });
    outgoing.on('error', (error) => {
      if (options.dropAfter !== undefined) resolve('dropped');
      else reject(error);
    });
    if (options.dropAfter === undefined) {
      outgoing.end(body);
      return;
    }
    outgoing.write(body.subarray(0, options.dropAfter), () => {
      setImmediate(() => outgoing.destroy());
    });
  });
}

describeEachDatabase('uploads (tus)', (fresh) => {
  let t: TestApp;
  let db: Database;
  let alice: UploadUser;
  let bob: UploadUser;
  let base: string;

  before(async () => {
    db = await (await fresh()).open();
    await migrate(db);
    t = await testApp(db, { UPP_UPLOAD_MAX_BYTES: String(64 * 1024 * 1024) });
    alice = await userWithSession(db, t.clock.now());
    bob = await userWithSession(db, t.clock.now());
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  after(async () => {
    await t.app.close();
    await rm(join(t.config.dataDir, 'uploads'), { recursive: true, force: true });
    await rm(join(t.config.dataDir, 'blobs'), { recursive: true, force: true });
  });

  test('OPTIONS names the version, extensions, size limit and checksum algorithms', async () => {
    const response = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/uploads',
      headers: tusHeaders(alice),
    });
    assert.equal(response.statusCode, 204);
    assert.equal(response.headers['tus-version'], '1.0.0');
    assert.deepEqual(String(response.headers['tus-extension']).split(',').sort(), [
      'checksum',
      'creation',
      'creation-with-upload',
      'expiration',
      'termination',
    ]);
    assert.equal(response.headers['tus-max-size'], String(64 * 1024 * 1024));
    assert.equal(response.headers['tus-checksum-algorithm'], 'sha1,sha256');
  });

  test('no session, no Tus-Resumable: refused with problem+json', async () => {
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' },
    });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(problemCode(anonymous), 'auth.required');
    const noVersion = await t.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: { authorization: `Bearer ${alice.token}`, 'upload-length': '10' },
    });
    assert.equal(noVersion.statusCode, 412);
    assert.equal(problemCode(noVersion), 'upload.version_unsupported');
  });

  test('parts, HEAD, completion: the blob is the file under its SHA-256', async () => {
    const name = 'Техникалық ерекшелік №1.pdf';
    const response = await create(t.app, alice, PDF.length, {
      filename: name,
      filetype: 'application/pdf',
    });
    assert.equal(response.statusCode, 201);
    const location = String(response.headers.location);
    assert.match(location, /^\/api\/v1\/uploads\/[0-9a-f-]{36}$/);
    assert.equal(response.headers['upload-offset'], '0');
    assert.equal(
      new Date(String(response.headers['upload-expires'])).getTime(),
      t.clock.now().getTime() + 24 * 3_600_000,
    );

    const first = await patch(t.app, alice, location, 0, PDF.subarray(0, 1000));
    assert.equal(first.statusCode, 204, first.body);
    assert.equal(first.headers['upload-offset'], '1000');
    const head = await t.app.inject({ method: 'HEAD', url: location, headers: tusHeaders(alice) });
    assert.equal(head.headers['upload-offset'], '1000');
    assert.equal(head.headers['upload-length'], String(PDF.length));
    assert.equal(head.headers['cache-control'], 'no-store');
    await assert.rejects(
      completedUpload(db, idOf(location), alice.userId),
      (error) => isUppError(error) && error.code === 'upload.incomplete' && error.status === 409,
    );

    const last = await patch(t.app, alice, location, 1000, PDF.subarray(1000));
    assert.equal(last.statusCode, 204, last.body);
    assert.equal(last.headers['upload-offset'], String(PDF.length));
    assert.equal(last.headers['upload-sha256'], sha256(PDF));

    const empty = await patch(t.app, alice, location, PDF.length, Buffer.alloc(0));
    assert.equal(empty.statusCode, 204, 'an empty part at the end changes nothing');
    const finished = await t.app.inject({
      method: 'HEAD',
      url: location,
      headers: tusHeaders(alice),
    });
    assert.equal(finished.headers['upload-offset'], String(PDF.length));
    assert.equal(finished.headers['upload-sha256'], sha256(PDF));
    assert.equal(finished.headers['upload-expires'], undefined);

    const done = await completedUpload(db, idOf(location), alice.userId);
    assert.equal(done.sha256, sha256(PDF));
    assert.equal(done.size, PDF.length);
    assert.equal(done.filename, name);
    assert.equal(done.filetype, 'application/pdf');
    assert.equal(done.completedAt.getTime(), t.clock.now().getTime());
    const chunks: Buffer[] = [];
    for await (const chunk of await blobStoreFor(t.config).open(done.sha256)) {
      chunks.push(chunk as Buffer);
    }
    assert.deepEqual(Buffer.concat(chunks), PDF);
    assert.equal(existsSync(join(t.config.dataDir, 'uploads', `${done.id}.part`)), false);
  });

  test('creation-with-upload takes the first part with the POST', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/uploads',
      headers: tusHeaders(alice, {
        'upload-length': String(PNG.length),
        'upload-metadata': metadata({ filename: 'scan.png', filetype: 'image/png' }),
        'content-type': 'application/offset+octet-stream',
      }),
      payload: PNG,
    });
    assert.equal(response.statusCode, 201, response.body);
    assert.equal(response.headers['upload-offset'], String(PNG.length));
    const done = await completedUpload(db, idOf(String(response.headers.location)), alice.userId);
    assert.equal(done.sha256, sha256(PNG));
  });

  test('a wrong Upload-Offset is refused with 409 and changes nothing', async () => {
    const location = await created(t.app, alice, 100, { filename: 'notes.txt' });
    const nothing = await patch(t.app, alice, location, 0, Buffer.alloc(0));
    assert.equal(nothing.statusCode, 204, nothing.body);
    assert.equal(nothing.headers['upload-offset'], '0');
    await patch(t.app, alice, location, 0, Buffer.from('a'.repeat(10)));
    const response = await patch(t.app, alice, location, 5, Buffer.from('b'.repeat(10)));
    assert.equal(response.statusCode, 409);
    assert.equal(problemCode(response), 'upload.offset_mismatch');
    assert.equal(await offsetOf(t.app, alice, location), 10);
    const beyond = await patch(t.app, alice, location, 10, Buffer.from('c'.repeat(91)));
    assert.equal(beyond.statusCode, 413);
    assert.equal(problemCode(beyond), 'upload.too_large');
    assert.equal(await offsetOf(t.app, alice, location), 10);
  });

  test('checksums: sha1 and sha256 accepted when right, 460 when wrong', async () => {
    const body = Buffer.from('Сатып алу туралы хабарландыру\n'.repeat(20));
    const location = await created(t.app, alice, body.length, { filename: 'хабарландыру.txt' });
    const part = body.subarray(0, 100);
    const digest = (algorithm: string, bytes: Buffer) =>
      createHash(algorithm).update(bytes).digest('base64');
    const wrong = await patch(t.app, alice, location, 0, part, {
      'upload-checksum': `sha1 ${digest('sha1', Buffer.from('other'))}`,
    });
    assert.equal(wrong.statusCode, 460);
    assert.equal(problemCode(wrong), 'upload.checksum_mismatch');
    assert.equal(await offsetOf(t.app, alice, location), 0);
    const right = await patch(t.app, alice, location, 0, part, {
      'upload-checksum': `sha1 ${digest('sha1', part)}`,
    });
    assert.equal(right.statusCode, 204);
    const rest = body.subarray(100);
    const last = await patch(t.app, alice, location, 100, rest, {
      'upload-checksum': `sha256 ${digest('sha256', rest)}`,
    });
    assert.equal(last.statusCode, 204);
    assert.equal(last.headers['upload-sha256'], sha256(body));
    const unknown = await patch(t.app, alice, location, 0, part, {
      'upload-checksum': `md5 ${digest('md5', part)}`,
    });
    assert.equal(problemCode(unknown), 'upload.checksum_unsupported');
  });

  test("another user's upload is not found, whatever the method", async () => {
    const location = await created(t.app, alice, 10, { filename: 'mine.txt' });
    for (const method of ['HEAD', 'PATCH', 'DELETE'] as const) {
      const response = await t.app.inject({
        method,
        url: location,
        headers: tusHeaders(bob, {
          'upload-offset': '0',
          'content-type': 'application/offset+octet-stream',
        }),
        ...(method === 'PATCH' ? { payload: Buffer.from('0123456789') } : {}),
      });
      assert.equal(response.statusCode, 404, method);
      if (method !== 'HEAD') assert.equal(problemCode(response), 'upload.not_found');
    }
    assert.equal(await offsetOf(t.app, alice, location), 0);
    await assert.rejects(
      completedUpload(db, idOf(location), bob.userId),
      (error) => isUppError(error) && error.code === 'upload.not_found' && error.status === 404,
    );
    const unknown = await t.app.inject({
      method: 'DELETE',
      url: '/api/v1/uploads/not-a-uuid',
      headers: tusHeaders(alice),
    });
    assert.equal(problemCode(unknown), 'upload.not_found');
  });

  test('termination deletes the bytes; the upload is then unknown', async () => {
    const location = await created(t.app, alice, 20, { filename: 'draft.txt' });
    await patch(t.app, alice, location, 0, Buffer.from('0123456789'));
    const path = join(t.config.dataDir, 'uploads', `${idOf(location)}.part`);
    assert.equal(existsSync(path), true);
    const response = await t.app.inject({
      method: 'DELETE',
      url: location,
      headers: tusHeaders(alice),
    });
    assert.equal(response.statusCode, 204);
    assert.equal(existsSync(path), false);
    const head = await t.app.inject({ method: 'HEAD', url: location, headers: tusHeaders(alice) });
    assert.equal(head.statusCode, 404);
  });

  test('an upload left unfinished past its expiry is gone with 410', async () => {
    const location = await created(t.app, alice, 20, { filename: 'late.txt' });
    await patch(t.app, alice, location, 0, Buffer.from('0123456789'));
    const path = join(t.config.dataDir, 'uploads', `${idOf(location)}.part`);
    t.clock.advance(24 * 3_600_000);
    alice = { ...alice, token: await sessionFor(db, alice.userId, t.clock.now()) };
    bob = { ...bob, token: await sessionFor(db, bob.userId, t.clock.now()) };
    const late = await patch(t.app, alice, location, 10, Buffer.from('0123456789'));
    assert.equal(late.statusCode, 410);
    assert.equal(problemCode(late), 'upload.expired');
    assert.equal(existsSync(path), false);
    const head = await t.app.inject({ method: 'HEAD', url: location, headers: tusHeaders(alice) });
    assert.equal(head.statusCode, 410);
    await assert.rejects(
      completedUpload(db, idOf(location), alice.userId),
      (error) => isUppError(error) && error.code === 'upload.expired',
    );
  });

  test('unsafe file names are refused with upload.bad_name', async () => {
    const names = [
      '../../etc/passwd.txt',
      'dir/file.pdf',
      'dir\\file.pdf',
      'bell\u0007.pdf',
      'line\nbreak.pdf',
      'invoice\u202Efdp.exe.pdf',
      `${'ж'.repeat(126)}.pdf`,
      '..',
      'CON.txt',
    ];
    for (const filename of names) {
      const response = await create(t.app, alice, 10, { filename, filetype: 'application/pdf' });
      assert.equal(response.statusCode, 400, filename);
      assert.equal(problemCode(response), 'upload.bad_name', filename);
    }
    const missing = await create(t.app, alice, 10, { filetype: 'application/pdf' });
    assert.equal(problemCode(missing), 'upload.bad_name');
    const longest = await create(t.app, alice, 10, { filename: `${'ж'.repeat(125)}.pdf` });
    assert.equal(longest.statusCode, 201);
  });

  test('empty files, oversized files and unlisted types are refused at creation', async () => {
    const empty = await create(t.app, alice, 0, { filename: 'empty.pdf' });
    assert.equal(empty.statusCode, 400);
    assert.equal(problemCode(empty), 'upload.empty');
    const huge = await create(t.app, alice, 64 * 1024 * 1024 + 1, { filename: 'big.zip' });
    assert.equal(huge.statusCode, 413);
    assert.equal(problemCode(huge), 'upload.too_large');
    const exe = await create(t.app, alice, 10, {
      filename: 'setup.exe',
      filetype: 'application/x-msdownload',
    });
    assert.equal(exe.statusCode, 415);
    assert.equal(problemCode(exe), 'upload.type_not_allowed');
  });

  test('content that contradicts its declared type is refused and never usable', async () => {
    const location = await created(t.app, alice, PNG.length, {
      filename: 'contract.pdf',
      filetype: 'application/pdf',
    });
    const response = await patch(t.app, alice, location, 0, PNG);
    assert.equal(response.statusCode, 422);
    assert.equal(problemCode(response), 'upload.type_mismatch');
    await assert.rejects(
      completedUpload(db, idOf(location), alice.userId),
      (error) => isUppError(error) && error.code === 'upload.type_mismatch',
    );
    const head = await t.app.inject({ method: 'HEAD', url: location, headers: tusHeaders(alice) });
    assert.equal(head.statusCode, 422);
    assert.equal(await blobStoreFor(t.config).has(sha256(PNG)), true, 'PNG stored earlier');
  });

  test('volumes of a split archive: the first must be a ZIP, later ones are opaque', async () => {
    const zip = Buffer.concat([Buffer.from('504b0304', 'hex'), randomBytes(60)]);
    const slice = randomBytes(64);
    const first = await created(t.app, alice, zip.length, { filename: 'тендер.zip.001' });
    assert.equal((await patch(t.app, alice, first, 0, zip)).statusCode, 204);
    const second = await created(t.app, alice, slice.length, { filename: 'тендер.zip.002' });
    assert.equal((await patch(t.app, alice, second, 0, slice)).statusCode, 204);
    const notZip = await created(t.app, alice, slice.length, { filename: 'other.zip.001' });
    assert.equal(problemCode(await patch(t.app, alice, notZip, 0, slice)), 'upload.type_mismatch');
  });

  test('a part of 20 MiB + 1 is refused with 413 and none of it is kept', async () => {
    {
      const file = randomBytes(PART_MAX_BYTES + 4096);
      const location = await created(t.app, alice, file.length, { filename: 'big.zip.002' });
      const head = file.subarray(0, 1000);
      assert.equal((await patch(t.app, alice, location, 0, head)).statusCode, 204);
      const tooBig = file.subarray(1000, 1000 + PART_MAX_BYTES + 1);
      for (const chunked of [false, true]) {
        const refused = await streamPatch(base, alice, location, 1000, tooBig, { chunked });
        assert.notEqual(refused, 'dropped');
        if (refused === 'dropped') return;
        assert.equal(refused.status, 413, `chunked: ${chunked}`);
        assert.equal((JSON.parse(refused.text) as { code: string }).code, 'upload.part_too_large');
        assert.equal(await offsetOf(t.app, alice, location), 1000);
      }
      const exact = await streamPatch(
        base,
        alice,
        location,
        1000,
        file.subarray(1000, 1000 + PART_MAX_BYTES),
        { chunked: true },
      );
      assert.notEqual(exact, 'dropped');
      const rest = await streamPatch(
        base,
        alice,
        location,
        1000 + PART_MAX_BYTES,
        file.subarray(1000 + PART_MAX_BYTES),
      );
      assert.ok(rest !== 'dropped' && rest.status === 204);
      assert.equal(rest.headers['upload-sha256'], sha256(file));
    }
  });

  test('a dropped connection keeps what arrived; the upload resumes from there', async () => {
    const file = randomBytes(3 * 1024 * 1024 + 17);
    const location = await created(t.app, alice, file.length, { filename: 'scan.zip.003' });
    const dropped = await streamPatch(base, alice, location, 0, file, {
      dropAfter: 2 * 1024 * 1024,
    });
    assert.equal(dropped, 'dropped');
    // The server learns of the drop on its own time and may still be writing what it had
    // buffered: wait until it has recorded something and two reads in a row agree.
    let offset = 0;
    let previous = -1;
    for (let attempt = 0; attempt < 500 && (offset === 0 || offset !== previous); attempt += 1) {
      previous = offset;
      await new Promise((resolve) => setTimeout(resolve, 10));
      offset = await offsetOf(t.app, alice, location);
    }
    assert.ok(offset > 0 && offset <= 2 * 1024 * 1024, `kept ${offset} bytes`);
    const stored = await readFile(join(t.config.dataDir, 'uploads', `${idOf(location)}.part`));
    assert.deepEqual(stored, file.subarray(0, offset));
    const resumed = await streamPatch(base, alice, location, offset, file.subarray(offset));
    assert.ok(resumed !== 'dropped' && resumed.status === 204, JSON.stringify(resumed));
    assert.equal(resumed.headers['upload-sha256'], sha256(file));
  });
});
