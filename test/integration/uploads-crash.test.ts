// The upload offset survives `kill -9`: a real server process is killed in the middle of a part,
// restarted on the same data, and the upload resumes from bytes that are exactly what was sent.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { TEST_DATABASE_URL, describeEachDatabase } from '../support/databases.js';

const SRC = new URL('../../src/', import.meta.url).href;
const MIB = 1024 * 1024;

/** The server: opens the database, adds the test session, listens and prints its URL. */
const SERVER_PROGRAM = `
const env = process.env;
const src = env.UPP_CRASH_SRC;
const { createHash } = await import('node:crypto');
const { loadConfig } = await import(src + 'config/index.ts');
const { buildApp } = await import(src + 'http/app.ts');
const { createPlatformPki, pkiSettingsFromEnv } = await import(src + 'services/pki.ts');
const { systemClock } = await import(src + 'domain/time.ts');
const { workingCalendar } = await import(src + 'domain/calendar.ts');
const { WrappingKey } = await import(src + 'services/sealing.ts');
const { migrate } = await import(src + 'store/migrate.ts');
const { openPglite } = await import(src + 'store/pglite.ts');
const { openPostgres } = await import(src + 'store/postgres.ts');
const config = loadConfig(env);
const db = env.UPP_CRASH_PG_SCHEMA
  ? await openPostgres({ url: env.UPP_CRASH_PG_URL, schema: env.UPP_CRASH_PG_SCHEMA, poolSize: 2 })
  : await openPglite(config.dataDir + '/db');
await migrate(db);
const now = new Date();
await db.query(
  "INSERT INTO user_account (id, identity, iin, full_name, created_at) " +
    "VALUES ($1, 'iin:870412300017', '870412300017', 'Test', $2) ON CONFLICT DO NOTHING",
  [env.UPP_CRASH_USER, now],
);
await db.query(
  "INSERT INTO session (id, token_sha256, user_id, certificate_serial, created_at, " +
    "last_seen_at, expires_at) VALUES (gen_random_uuid(), $1, $2, '01', $3, $3, $4) " +
    "ON CONFLICT DO NOTHING",
  [createHash('sha256').update(env.UPP_CRASH_TOKEN).digest('hex'), env.UPP_CRASH_USER, now,
    new Date(now.getTime() + 3600000)],
);
const pki = await createPlatformPki(pkiSettingsFromEnv(env, config), systemClock);
const app = await buildApp(
  {
    config,
    db,
    clock: systemClock,
    pki,
    calendar: workingCalendar(),
    sealing: WrappingKey.fromBytes(new Uint8Array(32)),
  },
  { logger: false },
);
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(JSON.stringify({ url }) + '\\n');
`;

interface Server {
  child: ChildProcess;
  url: string;
}

function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', SERVER_PROGRAM],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) =>
      resolve({ child, url: (JSON.parse(line) as { url: string }).url }),
    );
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${errors}`)));
  });
}

function killHard(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      resolve();
      return;
    }
    server.child.once('exit', () => resolve());
    server.child.kill('SIGKILL');
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

function call(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method, headers }, (reply) => {
      reply.resume();
      reply.on('end', () => resolve({ status: reply.statusCode ?? 0, headers: reply.headers }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describeEachDatabase('uploads survive kill -9', (_fresh, driver) => {
  test('killed mid-part, restarted, resumed: exact bytes and the right SHA-256', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'upp-crash-'));
    const schema = `t_crash_${randomBytes(5).toString('hex')}`;
    const token = randomBytes(32).toString('base64url');
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      UPP_DATA_DIR: dataDir,
      UPP_PKI_TRUST: 'demo',
      LOG_LEVEL: 'silent',
      UPP_CRASH_SRC: SRC,
      UPP_CRASH_USER: randomUUID(),
      UPP_CRASH_TOKEN: token,
    };
    if (driver === 'pg') {
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      Object.assign(env, { UPP_CRASH_PG_URL: TEST_DATABASE_URL, UPP_CRASH_PG_SCHEMA: schema });
    }
    const tus = {
      authorization: `Bearer ${token}`,
      'tus-resumable': '1.0.0',
    };
    const partPath = (location: string) =>
      join(dataDir, 'uploads', `${location.split('/').pop()}.part`);
    const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

    /** Sends `body` as one part, but kills the server once `atLeast` bytes are on its disk. */
    async function killDuring(
      server: Server,
      location: string,
      offset: number,
      body: Buffer,
      atLeast: number,
      extra: Record<string, string> = {},
    ): Promise<void> {
      const outgoing = httpRequest(new URL(location, server.url), {
        method: 'PATCH',
        headers: {
          ...tus,
          ...extra,
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
          'content-length': String(body.length),
        },
      });
      outgoing.on('error', () => undefined);
      outgoing.write(body.subarray(0, Math.ceil(body.length / 2)));
      await until(() => sizeOf(partPath(location)) >= atLeast, 'bytes on disk');
      await killHard(server);
      outgoing.destroy();
    }

    let server = await startServer(env);
    try {
      // A plain part: what reached the disk before the kill is kept.
      const file = randomBytes(6 * MIB + 123);
      const create = await call(`${server.url}/api/v1/uploads`, 'POST', {
        ...tus,
        'upload-length': String(file.length),
        'upload-metadata': `filename ${Buffer.from('лот.zip.002').toString('base64')}`,
      });
      assert.equal(create.status, 201);
      const location = String(create.headers.location);
      await killDuring(server, location, 0, file, MIB + 1);
      server = await startServer(env);
      const head = await call(new URL(location, server.url).href, 'HEAD', tus);
      const offset = Number(head.headers['upload-offset']);
      assert.ok(offset > MIB && offset <= 3 * MIB + 62, `offset ${offset}`);
      assert.ok(readFileSync(partPath(location)).equals(file.subarray(0, offset)));
      const rest = await call(
        new URL(location, server.url).href,
        'PATCH',
        {
          ...tus,
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
        },
        file.subarray(offset),
      );
      assert.equal(rest.status, 204);
      assert.equal(rest.headers['upload-sha256'], sha256(file));
      const blob = join(dataDir, 'blobs', sha256(file).slice(0, 2), sha256(file));
      assert.ok(readFileSync(blob).equals(file));

      // A part with a checksum: unchecked bytes are dropped, the offset is where it began.
      const second = randomBytes(4 * MIB);
      const created = await call(`${server.url}/api/v1/uploads`, 'POST', {
        ...tus,
        'upload-length': String(second.length),
        'upload-metadata': `filename ${Buffer.from('лот.zip.003').toString('base64')}`,
      });
      const next = String(created.headers.location);
      const first = await call(
        new URL(next, server.url).href,
        'PATCH',
        { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
        second.subarray(0, MIB),
      );
      assert.equal(first.status, 204);
      const tail = second.subarray(MIB);
      const checksum = `sha256 ${createHash('sha256').update(tail).digest('base64')}`;
      await killDuring(server, next, MIB, tail, MIB + 1, { 'upload-checksum': checksum });
      server = await startServer(env);
      const after = await call(new URL(next, server.url).href, 'HEAD', tus);
      assert.equal(after.headers['upload-offset'], String(MIB));
      assert.equal(sizeOf(partPath(next)), MIB);
      const resumed = await call(
        new URL(next, server.url).href,
        'PATCH',
        {
          ...tus,
          'upload-offset': String(MIB),
          'upload-checksum': checksum,
          'content-type': 'application/offset+octet-stream',
        },
        tail,
      );
      assert.equal(resumed.status, 204);
      assert.equal(resumed.headers['upload-sha256'], sha256(second));
    } finally {
      await killHard(server);
      await rm(dataDir, { recursive: true, force: true });
      if (driver === 'pg') {
        const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    }
  });
});
