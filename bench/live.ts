// Live broadcast benchmark: 200 SSE clients on two server processes over one PostgreSQL, messages
// published on one of them; latency from commit to arrival at every client (target p99 <= 100 ms).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import pg from 'pg';
import { streamEvents } from '../src/http/sse.js';
import { publish } from '../src/services/live.js';
import { openPostgres } from '../src/store/postgres.js';

const URL_OF_DATABASE =
  process.env.UPP_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS_PER_NODE = 100;
const MESSAGES = 100;
const PAUSE_MS = 20;
const TOPIC = 'auction.bench';
const SELF = fileURLToPath(import.meta.url);

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes. */
const instant = () => performance.timeOrigin + performance.now();

/** One `upp serve`-like node: an SSE route and a route that publishes the next price. */
async function runNode(schema: string): Promise<void> {
  const db = await openPostgres({ url: URL_OF_DATABASE, schema, poolSize: 4 });
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const current = async () => {
    const state = await db.query<{ sequence: bigint }>(
      'SELECT sequence FROM live_state WHERE topic = $1',
      [TOPIC],
    );
    const sequence = state.rows[0]?.sequence ?? 0n;
    return [{ sequence, event: 'snapshot', body: { sequence } }];
  };
  app.get('/live', async (request, reply) => {
    await streamEvents(request, reply, { db, topic: TOPIC, catchUp: current });
    return reply;
  });
  app.post('/publish', async () => {
    const sequence = await db.transaction(async (tx) => {
      const next = await tx.query<{ sequence: bigint }>(
        `UPDATE live_state SET sequence = sequence + 1 WHERE topic = $1 RETURNING sequence`,
        [TOPIC],
      );
      const value = next.rows[0]!.sequence;
      await publish(tx, TOPIC, { sequence: value, event: 'price', body: { price: `${value}.00` } });
      return value;
    });
    return { sequence: sequence.toString(), committedAt: instant() };
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ address })}\n`);
  process.on('SIGTERM', () => {
    void app
      .close()
      .then(() => db.close())
      .then(() => process.exit(0));
  });
}

function startNode(schema: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF], {
    env: { ...process.env, UPP_BENCH_LIVE_NODE: schema },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n')[0];
      if (output.includes('\n') && line !== undefined) {
        resolve({ child, address: (JSON.parse(line) as { address: string }).address });
      }
    });
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
}

/** An SSE client that notes when each price arrives. */
async function connect(address: string, signal: AbortSignal) {
  const arrivals = new Map<string, number>();
  const response = await fetch(`${address}/live`, { signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => {
    connected = resolve;
  });
  const done = (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done === true || chunk.value === undefined) return;
      const now = instant();
      buffer += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.includes('event: snapshot')) connected();
        const id = /^id: (\d+)$/m.exec(frame)?.[1];
        if (id !== undefined && frame.includes('event: price')) arrivals.set(id, now);
      }
      if (arrivals.size >= MESSAGES) return;
    }
  })();
  return { arrivals, ready, done };
}

function percentile(sorted: number[], share: number): number {
  return sorted[Math.max(0, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

const round = (value: number) => Math.round(value * 100) / 100;

export async function benchLive() {
  const schema = `bench_live_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_OF_DATABASE });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(
    `CREATE TABLE ${schema}.live_state (topic text PRIMARY KEY, sequence bigint NOT NULL)`,
  );
  await admin.query(`INSERT INTO ${schema}.live_state VALUES ($1, 0)`, [TOPIC]);
  const nodes = await Promise.all([startNode(schema), startNode(schema)]);
  const aborter = new AbortController();
  try {
    const clients = await Promise.all(
      Array.from({ length: CLIENTS_PER_NODE * 2 }, (_, i) =>
        connect(nodes[i % 2]!.address, aborter.signal),
      ),
    );
    await Promise.all(clients.map((client) => client.ready));

    const commits = new Map<string, number>();
    for (let i = 0; i < MESSAGES; i += 1) {
      const answer = await fetch(`${nodes[0]!.address}/publish`, { method: 'POST' });
      const { sequence, committedAt } = (await answer.json()) as {
        sequence: string;
        committedAt: number;
      };
      commits.set(sequence, committedAt);
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
    const deadline = new Promise((resolve) => setTimeout(resolve, 30_000));
    await Promise.race([Promise.all(clients.map((client) => client.done)), deadline]);

    const latencies = (from: typeof clients) =>
      from
        .flatMap((client) =>
          [...client.arrivals].map(([sequence, at]) => at - commits.get(sequence)!),
        )
        .sort((a, b) => a - b);
    const figures = (sorted: number[]) => ({
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      maxMs: round(sorted.at(-1) ?? Number.NaN),
    });
    const all = latencies(clients);
    const delivered = all.length;
    return {
      clients: clients.length,
      nodes: 2,
      messages: MESSAGES,
      pauseBetweenMessagesMs: PAUSE_MS,
      deliveries: { expected: clients.length * MESSAGES, delivered },
      latencyFromCommit: figures(all),
      latencyOnPublishingNode: figures(latencies(clients.filter((_, i) => i % 2 === 0))),
      latencyOnOtherNode: figures(latencies(clients.filter((_, i) => i % 2 === 1))),
      targetP99Ms: 100,
      method:
        'commit instant taken on the publishing node when COMMIT returns; arrival taken in ' +
        'the client process when the chunk is read; all processes share one machine clock',
    };
  } finally {
    aborter.abort();
    for (const node of nodes) node.child.kill('SIGTERM');
    await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  }
}

const nodeSchema = process.env.UPP_BENCH_LIVE_NODE;
if (nodeSchema !== undefined && process.argv[1] === SELF) await runNode(nodeSchema);
