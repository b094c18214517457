// Uploads benchmark: 1 GiB sent in 20 MiB parts with tus-js-client over loopback to a real
// `upp serve` (embedded database). Throughput is compared with dd writing as much to the same disk
// in the same run, and the server's resident memory is sampled during the upload.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tus from 'tus-js-client';
import { migrate } from '../src/store/migrate.js';
import { openPglite } from '../src/store/pglite.js';
import { freePort, residentMiB, round } from './processes.js';

const FILE_BYTES = 1024 * 1024 * 1024;
const PART_BYTES = 20 * 1024 * 1024;
const BLOCK_BYTES = 1024 * 1024;
const BIN = new URL('../bin/upp.js', import.meta.url).pathname;

/** A user and a live session written before the server starts, as a login would leave them. */
async function seedSession(dataDir: string): Promise<string> {
  const db = await openPglite(join(dataDir, 'pglite'));
  try {
    await migrate(db);
    const userId = randomUUID();
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    await db.query(
      `INSERT INTO user_account (id, identity, iin, full_name, created_at)
       VALUES ($1, 'iin:870412300017', '870412300017', 'Benchmark', $2)`,
      [userId, now],
    );
    await db.query(
      `INSERT INTO session (id, token_sha256, user_id, certificate_serial, created_at,
         last_seen_at, expires_at) VALUES ($1, $2, $3, '01', $4, $4, $5)`,
      [
        randomUUID(),
        createHash('sha256').update(token).digest('hex'),
        userId,
        now,
        new Date(now.getTime() + 3_600_000),
      ],
    );
    return token;
  } finally {
    await db.close();
  }
}

async function waitReady(base: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    try {
      if ((await fetch(`${base}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('upp serve did not become ready within a minute');
}

/** The file, held in memory so the client reads no disk; random, so nothing compresses. */
function fileBytes(): Buffer {
  const file = Buffer.allocUnsafe(FILE_BYTES);
  const block = randomBytes(BLOCK_BYTES);
  for (let offset = 0; offset < FILE_BYTES; offset += BLOCK_BYTES) {
    block.copy(file, offset);
    file.writeUInt32BE(offset / BLOCK_BYTES, offset);
  }
  return file;
}

function ddSeconds(target: string, sync: boolean): number {
  const started = performance.now();
  const args = [
    'if=/dev/zero',
    `of=${target}`,
    'bs=20M',
    `count=${FILE_BYTES}`,
    'iflag=count_bytes',
    ...(sync ? ['conv=fsync'] : []),
  ];
  const result = spawnSync('dd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = (performance.now() - started) / 1000;
  rmSync(target, { force: true });
  if (result.status !== 0) throw new Error(`dd failed: ${result.stderr.toString()}`);
  return seconds;
}

export async function benchUploads() {
  const dataDir = mkdtempSync(join(tmpdir(), 'upp-bench-uploads-'));
  try {
    const token = await seedSession(dataDir);
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: { ...process.env, PORT: String(port), UPP_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitReady(base);
      const file = fileBytes();
      const sha256 = createHash('sha256').update(file).digest('hex');
      const pid = child.pid!;
      const rssBefore = residentMiB(pid);
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, residentMiB(pid));
      }, 50);
      const started = performance.now();
      let parts = 0;
      try {
        await new Promise<void>((resolve, reject) => {
          const upload = new tus.Upload(file, {
            endpoint: `${base}/api/v1/uploads`,
            uploadSize: FILE_BYTES,
            chunkSize: PART_BYTES,
            headers: { authorization: `Bearer ${token}` },
            metadata: { filename: 'benchmark.zip.002', filetype: 'application/octet-stream' },
            retryDelays: [],
            onChunkComplete: () => {
              parts += 1;
            },
            onSuccess: () => resolve(),
            onError: (error) => reject(error),
          });
          upload.start();
        });
      } finally {
        clearInterval(sampler);
      }
      const uploadSeconds = (performance.now() - started) / 1000;
      const blob = join(dataDir, 'blobs', sha256.slice(0, 2), sha256);
      if (!existsSync(blob) || statSync(blob).size !== FILE_BYTES) {
        throw new Error('the uploaded file is not in the blob store under its SHA-256');
      }
      rmSync(blob, { force: true });
      const ddPlain = ddSeconds(join(dataDir, 'dd.bin'), false);
      const ddSync = ddSeconds(join(dataDir, 'dd.bin'), true);
      const mibPerSecond = (seconds: number) => round(FILE_BYTES / 2 ** 20 / seconds);
      return {
        description:
          '1 GiB uploaded with tus-js-client in 20 MiB parts over loopback to upp serve ' +
          '(embedded PGlite); the server hashes each part (SHA-256) as it arrives, flushes ' +
          'parts to disk while the next one arrives and fsyncs the whole file before it counts. ' +
          'Ratio = upload throughput / throughput of dd if=/dev/zero bs=20M of the same size to ' +
          'the same disk in the same run (targets: ratio >= 0.8, RSS growth <= 64 MiB).',
        bytes: FILE_BYTES,
        partBytes: PART_BYTES,
        parts,
        uploadSeconds: round(uploadSeconds, 2),
        uploadMiBPerSecond: mibPerSecond(uploadSeconds),
        ddMiBPerSecond: mibPerSecond(ddPlain),
        ddFsyncMiBPerSecond: mibPerSecond(ddSync),
        ratioToDd: round(ddPlain / uploadSeconds, 2),
        ratioToDdFsync: round(ddSync / uploadSeconds, 2),
        serverRssBeforeMiB: round(rssBefore),
        serverRssPeakMiB: round(rssPeak),
        serverRssGrowthMiB: round(rssPeak - rssBefore),
        sha256,
      };
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
