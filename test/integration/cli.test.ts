import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { main } from '../../src/cli/main.js';
import { startServer } from '../../src/cli/serve.js';
import { fixedClock } from '../../src/domain/time.js';
import { recordLinked } from '../support/audit.js';
import { openPglite } from '../../src/store/pglite.js';

const dataDir = mkdtempSync(join(tmpdir(), 'upp-cli-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs the CLI in-process with the given environment, capturing what it prints. */
async function run(args: string[], env: Record<string, string>) {
  const saved = { ...process.env };
  const out: string[] = [];
  const original = { log: console.log, error: console.error };
  console.log = (...parts: unknown[]) => out.push(parts.join(' '));
  console.error = console.log;
  Object.assign(process.env, env);
  try {
    const code = await main(args);
    return { code, output: out.join('\n') };
  } finally {
    console.log = original.log;
    console.error = original.error;
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

test('a wrong configuration value stops the start, naming the variable', async () => {
  const { code, output } = await run(['serve'], { PORT: 'eighty', UPP_DATA_DIR: dataDir });
  assert.equal(code, 78);
  assert.match(output, /PORT="eighty" is not accepted: PORT takes an integer/);
});

test('an unknown command prints the usage and fails', async () => {
  const { code, output } = await run(['frobnicate'], {});
  assert.equal(code, 2);
  assert.match(output, /usage: upp <command>/);
});

test('serve answers /health and /ready over HTTP and keeps rows across a restart', async () => {
  const env = { UPP_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', NODE_ENV: 'test' };
  const config = loadConfig(env);
  const clock = fixedClock('2026-03-02T04:00:00.000Z');
  const first = await startServer(config, clock);
  assert.equal((await fetch(`${first.url}/health`)).status, 200);
  const ready = await fetch(`${first.url}/ready`);
  assert.equal(ready.status, 200);
  await recordLinked(first.db, clock, { actor: 'system', action: 'test.restart' });
  await first.close();

  const second = await startServer(config, clock);
  const checkpoint = (await (
    await fetch(`${second.url}/api/v1/public/audit/checkpoint`)
  ).json()) as {
    count: number;
  };
  assert.equal(checkpoint.count, 1);
  await second.close();
});

test('migrate and audit verify work on the embedded database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'upp-cli-audit-'));
  try {
    const env = { UPP_DATA_DIR: dir };
    const migrated = await run(['migrate'], env);
    assert.equal(migrated.code, 0);
    assert.match(migrated.output, /migrations applied: 1/);

    const db = await openPglite(join(dir, 'pglite'));
    const clock = fixedClock('2026-03-02T04:00:00.000Z');
    const entry = await recordLinked(db, clock, { actor: 'system', action: 'test.cli' });
    await db.close();

    const intact = await run(['audit', 'verify'], env);
    assert.equal(intact.code, 0);
    assert.match(intact.output, new RegExp(`1 entries, last hash ${entry.hash}`));
    const wrongCheckpoint = await run(
      ['audit', 'verify', '--count', '1', '--hash', 'b'.repeat(64)],
      env,
    );
    assert.equal(wrongCheckpoint.code, 1);
    assert.match(wrongCheckpoint.output, /broken at entry 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admin grant makes a person an administrator and refuses a mistyped IIN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'upp-cli-admin-'));
  try {
    const env = { UPP_DATA_DIR: dir };
    const granted = await run(['admin', 'grant', '--iin', '870412300017', '--name', 'Админ'], env);
    assert.equal(granted.code, 0, granted.output);
    const mistyped = await run(['admin', 'grant', '--iin', '870412300018', '--name', 'X'], env);
    assert.equal(mistyped.code, 1);
    assert.match(mistyped.output, /iin\.invalid_check_digit/);
    const db = await openPglite(join(dir, 'pglite'));
    const rows = await db.query<{ administrator: boolean }>(
      "SELECT administrator FROM user_account WHERE iin = '870412300017'",
    );
    assert.equal(rows.rows[0]?.administrator, true);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
