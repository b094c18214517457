// Start-up benchmark of the embedded server: time from spawning `upp serve` to /health and to
// /ready, and resident memory once ready. Cold: an empty data directory (creates the database
// and applies migrations). Warm: the same directory again. Median of 5 each.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './machine.js';
import { freePort } from './processes.js';

const RUNS = 5;
const BIN = new URL('../bin/upp.js', import.meta.url).pathname;

interface StartSample {
  healthMs: number;
  readyMs: number;
  rssMiB: number;
}

async function waitFor(url: string, started: number, deadlineMs: number): Promise<number> {
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed > deadlineMs) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    try {
      const response = await fetch(url);
      if (response.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kib / 1024) * 10) / 10;
}

async function startOnce(dataDir: string): Promise<StartSample> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, PORT: String(port), UPP_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const healthMs = await waitFor(`${base}/health`, started, 30_000);
    const readyMs = await waitFor(`${base}/ready`, started, 30_000);
    return { healthMs, readyMs, rssMiB: residentMiB(child.pid!) };
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

function summarise(samples: StartSample[]) {
  const round = (value: number) => Math.round(value);
  return {
    healthMs: round(median(samples.map((s) => s.healthMs))),
    readyMs: round(median(samples.map((s) => s.readyMs))),
    rssMiB: median(samples.map((s) => s.rssMiB)),
    samples,
  };
}

export async function benchStartup() {
  const cold: StartSample[] = [];
  const warm: StartSample[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const dir = mkdtempSync(join(tmpdir(), 'upp-bench-startup-'));
    try {
      cold.push(await startOnce(dir));
      warm.push(await startOnce(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    description:
      'upp serve on embedded PGlite: ms from spawn to the first 200 of /health and of /ready, ' +
      'and resident memory (VmRSS) when ready; cold = empty data directory, warm = restart',
    runs: RUNS,
    cold: summarise(cold),
    warm: summarise(warm),
  };
}
