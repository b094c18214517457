// `upp serve` with UPP_WORKERS=2 on the PostgreSQL server: two worker processes answer on one
// port, one that dies is started again, SIGTERM stops them all, and the embedded database refuses
// more than one worker.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { TEST_DATABASE_URL } from '../support/databases.js';

const MAIN = new URL('../support/upp-main.ts', import.meta.url).pathname;
const schema = `t_${randomBytes(6).toString('hex')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'upp-workers-'));

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

before(() => admin(`CREATE SCHEMA ${schema}`));
after(async () => {
  await admin(`DROP SCHEMA ${schema} CASCADE`);
  rmSync(dataDir, { recursive: true, force: true });
});

interface Started {
  url: string;
  pid: number;
}

/** `upp serve` as a process; `started` yields each worker's server.started log line. */
function serve(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], {
    env: { ...process.env, NODE_ENV: 'test', UPP_DATA_DIR: dataDir, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  const waiting: ((started: Started) => void)[] = [];
  const seen: Started[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const entry = JSON.parse(line) as { event?: string; url?: string; pid?: number };
    if (entry.event !== 'server.started') return;
    const started = { url: entry.url!, pid: entry.pid! };
    const next = waiting.shift();
    if (next === undefined) seen.push(started);
    else next(started);
  });
  const started = () =>
    new Promise<Started>((resolve) => {
      const first = seen.shift();
      if (first === undefined) waiting.push(resolve);
      else resolve(first);
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, started, exited, errors: () => errors };
}

/** One GET on a connection of its own, so the cluster may give it to either worker. */
function status(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (reply) => {
      reply.resume();
      reply.on('end', () => resolve(reply.statusCode ?? 0));
    }).on('error', reject);
  });
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

test('two workers share the port; a killed one comes back; SIGTERM stops them all', async () => {
  const parsed = new URL(TEST_DATABASE_URL);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  const server = serve({
    DATABASE_URL: parsed.toString(),
    UPP_WORKERS: '2',
    UPP_CHRONOGRAPH_INTERVAL_MS: '0',
    UPP_DEMO_DATA: 'off',
    LOG_LEVEL: 'info',
  });
  try {
    const [one, two] = await Promise.all([server.started(), server.started()]);
    assert.notEqual(one!.pid, two!.pid, 'two processes');
    assert.notEqual(one!.pid, server.child.pid, 'neither is the supervisor');
    assert.equal(one!.url, two!.url, 'one port');
    for (let round = 0; round < 6; round += 1) assert.equal(await status(`${one!.url}/ready`), 200);

    process.kill(one!.pid, 'SIGKILL');
    const replacement = await server.started();
    assert.ok(![one!.pid, two!.pid].includes(replacement.pid), 'a new worker');
    assert.equal(await status(`${replacement.url}/ready`), 200);

    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.errors());
    for (const pid of [two!.pid, replacement.pid]) {
      assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} has stopped`);
    }
  } finally {
    if (alive(server.child)) server.child.kill('SIGKILL');
  }
});

test('more than one worker on the embedded database is refused, naming it', async () => {
  const server = serve({ UPP_WORKERS: '2', LOG_LEVEL: 'silent' });
  assert.equal(await server.exited, 78);
  assert.match(server.errors(), /UPP_WORKERS="2" is not accepted/);
});
