// Public search benchmark: 1,000,000 demo lots in the PostgreSQL server, the real `upp serve` in a
// child process under 64 autocannon connections for 30 s of random text and filter searches, and
// the same load on a bare Fastify route (another child) that answers a body of the median size,
// in rounds taken in turn.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { workingCalendar } from '../src/domain/calendar.js';
import { METHOD_CODES } from '../src/domain/procurement-methods.js';
import type { MethodCode } from '../src/domain/procurement-methods.js';
import {
  DemoRandom,
  GOODS,
  REGIONS,
  allParticipants,
  demoParties,
  demoProcurements,
  insertParticipants,
  insertProcurements,
} from '../src/services/demo-data.js';
import type { DemoProcurement } from '../src/services/demo-data.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/postgres.js';
import type { Database } from '../src/store/database.js';
import { median, percentile } from './machine.js';
import { freePort, round, stop, waitReady, withSearchPath } from './processes.js';

const DATABASE_URL = process.env.UPP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const LOTS = Number(process.env.UPP_BENCH_LOTS ?? 1_000_000);
const CUSTOMERS = 5_000;
const CONNECTIONS = 64;
const SECONDS = Number(process.env.UPP_BENCH_SECONDS ?? 30);
/** The seconds of each server are run in this many rounds, the two servers in turn. */
const ROUNDS = 3;
/** Seconds of search load before the rounds, not measured (half as long on the bare route). */
const WARMUP_SECONDS = 10;
const BATCH = 2_500;
const SAMPLES = 400;
/** Searches drawn ahead; the load repeats them in order if it asks for more. */
const PLANNED_PATHS = 300_000;
const ROUTE = '/api/v1/public/lots';
/** memory: the node's own lot index (the default); database: every search in PostgreSQL. */
const SEARCH_INDEX = process.env.UPP_BENCH_SEARCH_INDEX === 'database' ? 'database' : 'memory';
/** Server processes sharing the port (UPP_WORKERS of upp serve), one per core by default. */
const WORKERS = Number(process.env.UPP_BENCH_WORKERS ?? 2);
/** A schema a run kept (UPP_BENCH_KEEP_SCHEMA=1) is searched again without loading it anew. */
const REUSED_SCHEMA = process.env.UPP_BENCH_SCHEMA;
const KEEP_SCHEMA = process.env.UPP_BENCH_KEEP_SCHEMA === '1' || REUSED_SCHEMA !== undefined;
const BIN = new URL('../bin/upp.js', import.meta.url).pathname;
const SELF = fileURLToPath(import.meta.url);
/** Astana has been UTC+5 since 2024-03-01: a constant offset is exact for the past year. */
const ASTANA = () => 300;

/** Words a visitor types, in several forms: the Russian stemmer folds them, Kazakh is exact. */
const WORDS: readonly string[] = [
  ...['ноутбук', 'ноутбуки', 'ноутбуков', 'компьютер', 'компьютеры', 'монитор', 'мониторов'],
  ...['бумага', 'бумаги', 'ручка', 'картриджи', 'тетради', 'топливо', 'топлива', 'бензин'],
  ...['уголь', 'угля', 'парацетамол', 'инсулин', 'перчатки', 'шприцы', 'кислород', 'рентген'],
  ...['молоко', 'молока', 'говядина', 'хлеб', 'крупа', 'сахар', 'картофель', 'вода', 'стулья'],
  ...['стол', 'парты', 'автомобиль', 'автомобилей', 'шины', 'строительство', 'школы', 'ремонт'],
  ...['ремонту', 'дорог', 'уборка', 'уборке', 'охраны', 'снега', 'лифтов', 'лицензии'],
  ...['интернет', 'питания', 'горячего питания', 'перевозке', 'страхование', 'энергия'],
  ...['ноутбук', 'қағазы', 'отыны', 'көмір', 'сүт', 'еті', 'наны', 'қант', 'картоп', 'жөндеу'],
  ...['құрылысы', 'жинау', 'күзет', 'қызметтері', 'тамағын', 'энергиясы', 'орындығы'],
];

const STATUSES = [
  ['accepting', 5],
  ['published', 2],
  ['review', 1],
  ['results', 1],
  ['completed', 2],
  ['awaiting_agreement', 1],
] as const;

interface Loaded {
  lots: number;
  procurements: number;
  participants: number;
  seconds: number;
  customerBins: string[];
}

/** Streams demo procurements into the schema until `LOTS` lots, two batches in flight. */
async function load(schema: string, now: Date): Promise<Loaded> {
  const db = await openPostgres({ url: DATABASE_URL, schema, poolSize: 4 });
  try {
    await migrate(db);
    const started = performance.now();
    const random = new DemoRandom(20_261_204);
    const parties = demoParties(random, CUSTOMERS, now);
    const participants = allParticipants(parties);
    if (REUSED_SCHEMA !== undefined) return await counted(db, participants.length, parties);
    await insertParticipants(db, participants);
    const stream = demoProcurements(random, parties, {
      now,
      calendar: workingCalendar([], { offsetAt: ASTANA }),
      offsetAt: ASTANA,
      publishedWithinDays: 365,
    });
    let lots = 0;
    let procurements = 0;
    const inFlight: Promise<unknown>[] = [];
    while (lots < LOTS) {
      const batch: DemoProcurement[] = [];
      while (batch.length < BATCH && lots < LOTS) {
        const next = stream.next().value as DemoProcurement;
        next.lots = next.lots.slice(0, LOTS - lots);
        next.amount = next.lots.reduce((sum, lot) => sum + lot.amount, 0n);
        lots += next.lots.length;
        batch.push(next);
      }
      procurements += batch.length;
      inFlight.push(insertProcurements(db, batch, 'ocds-upp001'));
      if (inFlight.length >= 2) await inFlight.shift();
    }
    await Promise.all(inFlight);
    await db.exec('VACUUM ANALYZE');
    return {
      lots,
      procurements,
      participants: participants.length,
      seconds: round((performance.now() - started) / 1000, 1),
      customerBins: parties.customers.map((customer) => customer.bin),
    };
  } finally {
    await db.close();
  }
}

/** What a kept schema holds: the same seed drew the same customers when it was loaded. */
async function counted(
  db: Database,
  participants: number,
  parties: { customers: readonly { bin: string }[] },
): Promise<Loaded> {
  const found = await db.query<{ lots: string; procurements: string }>(
    'SELECT (SELECT count(*) FROM lot) AS lots, (SELECT count(*) FROM procurement) AS procurements',
  );
  return {
    lots: Number(found.rows[0]!.lots),
    procurements: Number(found.rows[0]!.procurements),
    participants,
    seconds: 0,
    customerBins: parties.customers.map((customer) => customer.bin),
  };
}

/** A random search as a visitor would make it: mostly words, often a region or status. */
function searchPath(random: DemoRandom, customerBins: readonly string[], now: Date): string {
  const query = new URLSearchParams();
  if (random.chance(0.7)) query.set('q', random.pick(WORDS));
  if (random.chance(0.25)) query.set('method', random.pick(METHOD_CODES as readonly MethodCode[]));
  if (random.chance(0.3)) query.set('status', random.weighted(STATUSES));
  if (random.chance(0.15)) query.set('regime', random.chance(0.8) ? 'public' : 'quasi_public');
  if (random.chance(0.08)) query.set('customerBin', random.pick(customerBins));
  if (random.chance(0.35)) query.set('region', random.pick(REGIONS).code);
  if (random.chance(0.12)) {
    const code = random.pick(GOODS).ensTru;
    query.set('ensTru', random.chance(0.5) ? code.slice(0, 6) : code.slice(0, 10));
  }
  // Bounds in tenge; a visitor's upper bound is above the lower one.
  const bounds = [1e5, 5e5, 1e6, 5e6, 1e7, 5e7, 5e8];
  const low = random.int(0, bounds.length - 2);
  if (random.chance(0.12)) query.set('amountMin', `${bounds[low]}.00`);
  if (random.chance(0.12)) query.set('amountMax', `${bounds[random.int(low + 1, 6)]}.00`);
  if (random.chance(0.25)) {
    const from = new Date(now.getTime() - random.int(7, 120) * 86_400_000);
    query.set('publishedFrom', `${from.toISOString().slice(0, 10)}T00:00:00+05:00`);
  }
  query.set('limit', '20');
  return `${ROUTE}?${query}`;
}

interface Sampled {
  statuses: Record<string, number>;
  medianBytes: number;
  medianBody: unknown;
  p50: number;
  p99: number;
  slowest: { path: string; ms: number; status: number }[];
  emptyShare: number;
}

/** One client, one request at a time: response sizes, the slowest searches, and a warm cache. */
async function sample(base: string, paths: () => string): Promise<Sampled> {
  const seen: { path: string; ms: number; status: number; bytes: number; body: string }[] = [];
  for (let index = 0; index < SAMPLES; index += 1) {
    const path = paths();
    const started = performance.now();
    const response = await fetch(`${base}${path}`);
    const body = await response.text();
    seen.push({
      path,
      ms: performance.now() - started,
      status: response.status,
      bytes: Buffer.byteLength(body),
      body,
    });
  }
  const statuses: Record<string, number> = {};
  for (const row of seen) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
  const ok = seen.filter((row) => row.status === 200).sort((a, b) => a.bytes - b.bytes);
  const middle = ok[Math.floor(ok.length / 2)];
  const empty = ok.filter(
    (row) => (JSON.parse(row.body) as { items: unknown[] }).items.length === 0,
  );
  return {
    statuses,
    medianBytes: middle?.bytes ?? 0,
    medianBody: middle === undefined ? { items: [], nextCursor: null } : JSON.parse(middle.body),
    p50: round(median(seen.map((row) => row.ms)), 2),
    p99: round(
      percentile(
        seen.map((row) => row.ms),
        99,
      ),
      2,
    ),
    slowest: [...seen]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8)
      .map(({ path, ms, status }) => ({ path, ms: round(ms, 1), status })),
    emptyShare: round(ok.length === 0 ? 0 : empty.length / ok.length, 2),
  };
}

interface Load {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** One round of load: every response's latency, and the counts. */
interface Round {
  seconds: number;
  latencies: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
}

function hammer(base: string, paths: () => string, seconds: number): Promise<Round> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections: CONNECTIONS,
        duration: seconds,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: paths() }) }],
      },
      (error, result) => {
        if (error !== null && error !== undefined) {
          reject(error);
          return;
        }
        resolve({
          seconds: result.duration,
          latencies,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
    });
  });
}

/** What each round is summed up by in the results. */
function roundFigures(load: Load): { requestsPerSecond: number; p50Ms: number; p99Ms: number } {
  return { requestsPerSecond: load.requestsPerSecond, p50Ms: load.p50Ms, p99Ms: load.p99Ms };
}

/** The rounds of one server taken together: requests per second over their time, percentiles. */
function merged(rounds: readonly Round[]): Load {
  const latencies = rounds.flatMap((round) => round.latencies).sort((a, b) => a - b);
  const seconds = rounds.reduce((sum, round) => sum + round.seconds, 0);
  const at = (p: number) => round(percentile(latencies, p), 1);
  return {
    requestsPerSecond: Math.round(latencies.length / seconds),
    p50Ms: at(50),
    p90Ms: at(90),
    p99Ms: at(99),
    maxMs: round(latencies.at(-1) ?? 0, 1),
    requests: latencies.length,
    non2xx: rounds.reduce((sum, round) => sum + round.non2xx, 0),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
    timeouts: rounds.reduce((sum, round) => sum + round.timeouts, 0),
  };
}

/** One answer of `url` on a connection of its own (so each worker of the server is asked). */
function askOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
  });
}

/**
 * Seconds until the lot index of every worker is built (WORKERS answers in a row say ready), or
 * null when searches go to the database.
 */
async function waitForIndex(url: string): Promise<number | null> {
  const started = performance.now();
  let readyInRow = 0;
  for (;;) {
    const ready = JSON.parse(await askOnce(url)) as { searchIndex?: { state: string } };
    const state = ready.searchIndex?.state ?? 'off';
    if (state === 'off') return null;
    readyInRow = state === 'ready' ? readyInRow + 1 : 0;
    if (readyInRow >= WORKERS * 4) return round((performance.now() - started) / 1000, 1);
    if (performance.now() - started > 600_000) throw new Error(`the index is still ${state}`);
    if (state !== 'ready') await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Seconds until every worker has written the JSON of all its lots ahead (what a node that has
 * served for a while holds); a search on a new connection each time starts it on every worker.
 */
async function waitForPrewrite(base: string, search: string): Promise<number> {
  const started = performance.now();
  let doneInRow = 0;
  for (;;) {
    await askOnce(`${base}${search}`);
    await askOnce(`${base}${search}`);
    const ready = JSON.parse(await askOnce(`${base}/ready`)) as {
      searchIndex?: { lots: number; prewritten?: number };
    };
    const index = ready.searchIndex;
    const done = index?.prewritten === undefined || index.prewritten >= index.lots;
    doneInRow = done ? doneInRow + 1 : 0;
    if (doneInRow >= WORKERS * 4) return round((performance.now() - started) / 1000, 1);
    if (performance.now() - started > 900_000) throw new Error('the lots are not written yet');
    if (!done) await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function createSchema(schema: string, create: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(create ? `CREATE SCHEMA ${schema}` : `DROP SCHEMA ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

export async function benchPublic() {
  const schema = REUSED_SCHEMA ?? `bench_public_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'upp-bench-public-'));
  if (REUSED_SCHEMA === undefined) await createSchema(schema, true);
  try {
    const now = new Date();
    const loaded = await load(schema, now);
    console.error(`loaded ${loaded.lots} lots in ${loaded.seconds} s`);
    const random = new DemoRandom(7);
    // Drawn before the load, so that drawing them costs the load generator nothing meanwhile.
    const drawn = Array.from({ length: PLANNED_PATHS }, () =>
      searchPath(random, loaded.customerBins, now),
    );
    let next = 0;
    const paths = () => drawn[next++ % drawn.length]!;

    const appPort = await freePort();
    const flags = (process.env.UPP_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const app = spawn(process.execPath, [...flags, BIN, 'serve'], {
      env: {
        ...process.env,
        PORT: String(appPort),
        HOST: '127.0.0.1',
        DATABASE_URL: withSearchPath(DATABASE_URL, schema),
        UPP_DB_POOL_SIZE: '16',
        UPP_DATA_DIR: dataDir,
        UPP_RATE_LIMIT_ANON: '1000000',
        UPP_DEMO_DATA: 'off',
        LOG_LEVEL: 'warn',
        UPP_SEARCH_INDEX: SEARCH_INDEX,
        UPP_WORKERS: String(WORKERS),
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const searchRounds: Round[] = [];
    const bareRounds: Round[] = [];
    let sampled: Sampled;
    let indexSeconds: number | null;
    let prewriteSeconds: number;
    try {
      const appBase = `http://127.0.0.1:${appPort}`;
      await waitReady(`${appBase}/ready`, app);
      indexSeconds = await waitForIndex(`${appBase}/ready`);
      console.error(`search index ready in ${indexSeconds} s`);
      prewriteSeconds = await waitForPrewrite(appBase, paths());
      console.error(`lots written ahead in ${prewriteSeconds} s`);
      sampled = await sample(appBase, paths);
      const bodyFile = join(dataDir, 'median-body.json');
      writeFileSync(bodyFile, JSON.stringify(sampled.medianBody));
      const barePort = await freePort();
      const bare = spawn(
        process.execPath,
        ['--import', 'tsx', SELF, 'bare', String(barePort), bodyFile],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      try {
        const bareBase = `http://127.0.0.1:${barePort}`;
        await waitReady(`${bareBase}${ROUTE}`, bare);
        // A load that is not measured first, as a node that has served for a while is warm:
        // compiled code, and the garbage of writing the lots ahead collected.
        await hammer(appBase, paths, WARMUP_SECONDS);
        await hammer(bareBase, paths, WARMUP_SECONDS / 2);
        // Rounds in turn, so that what else the shared machine does weighs on both alike.
        for (let count = 0; count < ROUNDS; count += 1) {
          searchRounds.push(await hammer(appBase, paths, SECONDS / ROUNDS));
          bareRounds.push(await hammer(bareBase, paths, SECONDS / ROUNDS));
        }
      } finally {
        await stop(bare);
      }
    } finally {
      await stop(app);
    }
    const search = merged(searchRounds);
    const baseline = merged(bareRounds);

    return {
      description:
        `${loaded.lots} lots of ${loaded.procurements} demo procurements (seeded generator of ` +
        `src/services/demo-data.ts: ${CUSTOMERS} customers in 20 KATO regions, 52 ENS TRU ` +
        'goods/works/services, statuses from the schedules over the past year) in a ' +
        (REUSED_SCHEMA === undefined ? 'fresh schema' : 'schema loaded by an earlier run') +
        ' of the local PostgreSQL server; upp serve (' +
        `${WORKERS} worker${WORKERS === 1 ? '' : 's'}, pg pool 16 each, lot search from the ` +
        `${SEARCH_INDEX === 'memory' ? 'in-memory index' : 'database'}) in a child process, ` +
        'measured once the index is built and has written every lot in the default language; ' +
        `autocannon in the benchmark process, ${CONNECTIONS} connections for ${SECONDS} s each ` +
        `(${ROUNDS} rounds of ${SECONDS / ROUNDS} s, search and bare in turn, after ` +
        `${WARMUP_SECONDS} s and ${WARMUP_SECONDS / 2} s of load not measured; latencies of ` +
        'every response) ' +
        `against GET ${ROUTE} with random q (Russian and Kazakh word forms) and filters ` +
        '(method, status, regime, customerBin, region, ensTru prefix, amountMin/Max, ' +
        'publishedFrom), limit=20, and against a bare Fastify route in another child ' +
        'process answering the median search body. Targets: search p99 <= 50 ms, ' +
        'ratio search rps / bare rps >= 0.3.',
      dataset: {
        lots: loaded.lots,
        procurements: loaded.procurements,
        participants: loaded.participants,
        loadSeconds: loaded.seconds,
      },
      searchIndex: {
        kind: SEARCH_INDEX,
        buildSeconds: indexSeconds,
        prewriteSeconds,
      },
      serverWorkers: WORKERS,
      sequentialSample: {
        requests: SAMPLES,
        statuses: sampled.statuses,
        medianBodyBytes: sampled.medianBytes,
        emptyResultShare: sampled.emptyShare,
        p50Ms: sampled.p50,
        p99Ms: sampled.p99,
        slowest: sampled.slowest,
      },
      search,
      bare: baseline,
      rounds: {
        search: searchRounds.map((one) => merged([one])).map(roundFigures),
        bare: bareRounds.map((one) => merged([one])).map(roundFigures),
      },
      ratio: round(search.requestsPerSecond / baseline.requestsPerSecond, 3),
      targetsMet: {
        p99: search.p99Ms <= 50,
        ratio: search.requestsPerSecond / baseline.requestsPerSecond >= 0.3,
        noErrors: search.non2xx === 0 && search.errors === 0,
      },
    };
  } finally {
    if (KEEP_SCHEMA) console.error(`kept schema ${schema} (UPP_BENCH_SCHEMA=${schema})`);
    else await createSchema(schema, false).catch((error: unknown) => console.error(error));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The bare baseline: one Fastify route answering the same body to every request. */
async function serveBare(port: number, bodyFile: string): Promise<void> {
  const body = JSON.parse(readFileSync(bodyFile, 'utf8')) as unknown;
  const app = Fastify({ logger: false });
  app.get(ROUTE, async () => body);
  await app.listen({ host: '127.0.0.1', port });
  process.once('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

if (process.argv[2] === 'bare' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await serveBare(Number(process.argv[3]), process.argv[4] ?? '');
}
