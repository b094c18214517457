// Participation benchmark, part (a) the deadline rush: 1,000 suppliers send 10,000 signed sealed
// price offers to 10 tenders in the last 60 s before their deadline; part (b) is bench/auction.ts.
import { spawn } from 'node:child_process';
import cluster from 'node:cluster';
import type { Worker as ClusterWorker } from 'node:cluster';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { canonicalJson } from '../src/domain/canonical-json.js';
import { checkDigit } from '../src/domain/identity.js';
import { parseCertificate } from '../src/pki/certificate.js';
import type { Certificate } from '../src/pki/certificate.js';
import { signCms } from '../src/pki/cms-sign.js';
import { issueCertificate, loadDemoCa } from '../src/pki/demo-ca.js';
import type { DemoAlgorithm, DemoCa, IssuedRecord } from '../src/pki/demo-ca.js';
import { privateKeyFromPkcs8, privateKeyToPkcs8 } from '../src/pki/keys.js';
import type { PrivateKey } from '../src/pki/keys.js';
import { deposit } from '../src/services/wallet.js';
import { openPostgres } from '../src/store/postgres.js';
import { benchAuction } from './auction.js';
import { median, percentile } from './machine.js';
import { freePort, stop, waitReady, withSearchPath } from './processes.js';

export const DATABASE_URL =
  process.env.UPP_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SUPPLIERS = Number(process.env.UPP_BENCH_SUPPLIERS ?? 1_000);
const PROCUREMENTS = 10;
const OFFERS = SUPPLIERS * PROCUREMENTS;
const RUSH_MS = 60_000;
/** Offers sent on purpose after the deadline: each must be refused. */
const LATE_OFFERS = Math.ceil(OFFERS / 100);
/** The rush server starts this long before the deadline (its clock): room to log in and sign. */
const LEAD_MS = Number(process.env.UPP_BENCH_LEAD_MS ?? 150_000);
const WORKERS = 2;
/** Server processes of the rush node (UPP_BENCH_NODE_WORKERS), one per core by default. */
const NODE_WORKERS = Number(process.env.UPP_BENCH_NODE_WORKERS ?? 2);
const SELF = fileURLToPath(import.meta.url);
const CHRONOGRAPH_MS = 200;
/** 4,500,000.00 tenge per lot; 1% of each is held, so ten offers hold 450,000.00 tenge. */
const FUNDS_TIYN = 60_000_000n;
export const LOT_ITEM = {
  ensTru: '262011.000.000001',
  names: { kk: 'Портативті компьютер', ru: 'Компьютер портативный (ноутбук)', en: 'Laptop' },
  unit: '796',
  quantity: '10',
  unitPrice: '450000.00',
  kato: '751110000',
  deliveryPlace: 'Алматы, ул. Толе би, 100',
  fundingSource: 'republican_budget',
  regime: 'public',
  method: 'tender',
};

const round = (value: number, places = 1) => Math.round(value * 10 ** places) / 10 ** places;

// ---- keys and signatures, shared by the main thread and the signing workers ----

export interface KeyMaterial {
  alg: DemoAlgorithm;
  certificate: Uint8Array;
  privateKey: Uint8Array;
}

export interface Key {
  alg: DemoAlgorithm;
  certificate: Certificate;
  privateKey: PrivateKey;
  chain: Certificate[];
}

export function keyFrom(ca: DemoCa, material: KeyMaterial): Key {
  return {
    alg: material.alg,
    certificate: parseCertificate(material.certificate),
    privateKey: privateKeyFromPkcs8(material.privateKey),
    chain: [ca.cas[material.alg].issuing, ca.cas[material.alg].root],
  };
}

/** Detached CMS over the RFC 8785 form of the payload, as NCALayer or the CLI would make it. */
export function sign(key: Key, payload: Record<string, unknown>, at: Date): string {
  const cms = signCms({
    content: new TextEncoder().encode(canonicalJson(payload)),
    detached: true,
    signers: [{ privateKey: key.privateKey, certificate: key.certificate, chain: key.chain }],
    signingTime: at,
  });
  return Buffer.from(cms).toString('base64');
}

interface IssueOrder {
  alg: DemoAlgorithm;
  purpose: 'sign' | 'auth';
  iin: string;
  bin: string;
}

interface SignOrder {
  key: number;
  payload: Record<string, unknown>;
  at: number;
}

type Task =
  | { kind: 'issue'; orders: IssueOrder[] }
  | { kind: 'keys'; keys: KeyMaterial[] }
  | { kind: 'sign'; orders: SignOrder[] };
type WorkerTask = Task & { id: number };

interface SignAnswer {
  signatures: string[];
  cpuMs: Record<DemoAlgorithm, number>;
}

/** A signing worker: issues keys from its own copy of the demo CA, and signs offers. */
function runWorker(caDir: string): void {
  const ca = loadDemoCa({ dir: caDir, clock: () => new Date() });
  let keys: Key[] = [];
  parentPort!.on('message', (task: WorkerTask) => {
    if (task.kind === 'issue') {
      const issued = task.orders.map((order) => {
        const store = issueCertificate(ca, {
          role: 'first_head',
          iin: order.iin,
          bin: order.bin,
          org: `ТОО «Поставщик ${order.bin}»`,
          purpose: order.purpose,
          alg: order.alg,
          names: { surname: 'Сапаров', firstName: 'Ерлан', patronymic: 'Маратұлы' },
          password: 'demo-password',
        });
        return {
          alg: order.alg,
          certificate: store.certificate.der,
          privateKey: privateKeyToPkcs8(store.privateKey),
        };
      });
      parentPort!.postMessage({ id: task.id, answer: issued });
    } else if (task.kind === 'keys') {
      keys = task.keys.map((material) => keyFrom(ca, material));
      parentPort!.postMessage({ id: task.id, answer: keys.length });
    } else {
      const cpuMs: Record<DemoAlgorithm, number> = { rsa: 0, gost2015: 0 };
      const signatures = task.orders.map((order) => {
        const key = keys[order.key]!;
        const started = performance.now();
        const signature = sign(key, order.payload, new Date(order.at));
        cpuMs[key.alg] += performance.now() - started;
        return signature;
      });
      parentPort!.postMessage({ id: task.id, answer: { signatures, cpuMs } });
    }
  });
}

/** Worker threads with their own copies of the demo CA; tasks go round-robin. */
export class SigningPool {
  readonly #workers: Worker[] = [];
  readonly #waiting = new Map<number, (answer: unknown) => void>();
  #next = 0;

  constructor(caDir: string, copies: string[]) {
    for (const copy of copies) {
      cpSync(caDir, copy, { recursive: true });
      // Each copy starts with no issued records: the main thread merges what workers issue.
      writeFileSync(join(copy, 'issued.json'), '[]\n');
      const code =
        "import('tsx/esm/api').then((tsx) => { tsx.register(); " +
        `return import(${JSON.stringify(pathToFileURL(SELF).href)}); })`;
      const worker = new Worker(code, { eval: true, workerData: { participationCa: copy } });
      worker.on('message', (message: { id: number; answer: unknown }) => {
        this.#waiting.get(message.id)?.(message.answer);
        this.#waiting.delete(message.id);
      });
      worker.on('error', (error) => console.error('signing worker failed', error));
      this.#workers.push(worker);
    }
  }

  get size(): number {
    return this.#workers.length;
  }

  run<T>(task: Task, worker?: number): Promise<T> {
    const id = (this.#next += 1);
    const target = this.#workers[worker ?? id % this.#workers.length]!;
    return new Promise<T>((resolve) => {
      this.#waiting.set(id, resolve as (answer: unknown) => void);
      target.postMessage({ ...task, id });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}

if (!isMainThread && typeof workerData?.participationCa === 'string') {
  runWorker(workerData.participationCa as string);
}

// ---- HTTP ----

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export function call(
  base: string,
  agent: Agent,
  method: string,
  path: string,
  payload?: object,
  token?: string,
): Promise<Answer> {
  const body = payload === undefined ? undefined : JSON.stringify(payload);
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const sent = httpRequest(`${base}${path}`, { method, agent, headers, timeout: 180_000 });
    sent.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> = {};
        try {
          parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          parsed = { text };
        }
        resolve({ status: response.statusCode ?? 0, body: parsed });
      });
      response.on('error', reject);
    });
    sent.on('timeout', () => sent.destroy(new Error(`${method} ${path} timed out`)));
    sent.on('error', reject);
    sent.end(body);
  });
}

export function expect(answer: Answer, status: number, what: string): Record<string, unknown> {
  if (answer.status !== status) {
    throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

// ---- the server in a child process ----

export interface Server {
  base: string;
  child: ChildProcess;
  /** The node's error log lines (pino level 50 and above), counted by message. */
  errors: Map<string, number>;
}

/** Counts the error lines of a node's JSON log, so a 500 in the rush says what failed. */
function countErrors(child: ChildProcess): Map<string, number> {
  const errors = new Map<string, number>();
  let pending = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as {
          level?: number;
          msg?: string;
          err?: { message?: string };
        };
        if ((entry.level ?? 0) < 50) continue;
        const message = `${entry.msg ?? ''}: ${entry.err?.message ?? ''}`.slice(0, 200);
        errors.set(message, (errors.get(message) ?? 0) + 1);
      } catch {
        // not a log line
      }
    }
  });
  return errors;
}

/** The same start as `upp serve` (startServer), with the clock shifted by `offsetMs`. */
export async function startNode(
  schema: string,
  dataDir: string,
  publicUrl: string,
  offsetMs: number,
  workers = 1,
): Promise<Server> {
  const port = await freePort();
  // UPP_BENCH_PROFILE_DIR: each node writes a CPU profile there, to see where an offer's time goes.
  const profile = process.env.UPP_BENCH_PROFILE_DIR;
  const flags = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', SELF, 'serve'], {
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: withSearchPath(DATABASE_URL, schema),
      UPP_DB_POOL_SIZE: process.env.UPP_BENCH_POOL_SIZE ?? '16',
      UPP_DATA_DIR: dataDir,
      UPP_PUBLIC_URL: publicUrl,
      UPP_PKI_TRUST: 'demo',
      UPP_RATE_LIMIT_ANON: '1000000',
      UPP_DEMO_DATA: 'off',
      UPP_CHRONOGRAPH_INTERVAL_MS: String(CHRONOGRAPH_MS),
      UPP_BENCH_CLOCK_OFFSET_MS: String(offsetMs),
      UPP_BENCH_NODE_WORKERS: String(workers),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const errors = countErrors(child);
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/ready`, child);
  return { base, child, errors };
}

/**
 * UPP_BENCH_NODE_WORKERS server processes on one port (as UPP_WORKERS of upp serve), each with
 * the shifted clock; the first is up before the next starts, so only it creates what is missing.
 */
async function serveShifted(): Promise<void> {
  const workers = Number(process.env.UPP_BENCH_NODE_WORKERS ?? 1);
  if (workers > 1 && cluster.isPrimary) {
    const started: ClusterWorker[] = [];
    for (let count = 0; count < workers; count += 1) {
      const worker = cluster.fork();
      started.push(worker);
      await new Promise((resolve) => worker.once('listening', resolve));
    }
    const exited = started.map((worker) => new Promise((resolve) => worker.once('exit', resolve)));
    const close = () => {
      for (const worker of started) worker.process.kill('SIGTERM');
      void Promise.all(exited).then(() => process.exit(0));
    };
    process.once('SIGTERM', close);
    process.once('SIGINT', close);
    return;
  }
  const { loadConfig } = await import('../src/config/index.js');
  const { startServer } = await import('../src/cli/serve.js');
  const offset = Number(process.env.UPP_BENCH_CLOCK_OFFSET_MS ?? 0);
  const server = await startServer(loadConfig(process.env), {
    now: () => new Date(Date.now() + offset),
  });
  const close = () => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
}

// ---- the platform's participants ----

let serial = 0;

export function withCheckDigit(prefix: string): string {
  for (;;) {
    serial += 1;
    const first11 = prefix + String(serial).padStart(11 - prefix.length, '0');
    const digit = checkDigit(first11);
    if (digit !== null) return first11 + String(digit);
  }
}

export interface Company {
  bin: string;
  iin: string;
  sign: Key;
  auth: Key;
  participantId: string;
  token: string;
}

function registration(bin: string, nonce: string, roles: string[]) {
  return {
    action: 'participant.register',
    nonce,
    participant: {
      kind: 'legal_entity',
      bin,
      names: { kk: `«Жеткізуші ${bin}» ЖШС`, ru: `ТОО «Поставщик ${bin}»` },
      address: { kato: '751110000', text: 'Алматы қ., Абай даңғылы, 1' },
      bank: { iban: 'KZ86125KZT5004100100', bic: 'KCJBKZKX' },
      contacts: { email: 'info@supplier.kz', phone: '+7 727 000 00 00' },
      roles,
    },
  };
}

export async function nonce(base: string, agent: Agent): Promise<string> {
  return expect(await call(base, agent, 'POST', '/api/v1/auth/nonce'), 200, 'nonce')
    .nonce as string;
}

export async function logIn(base: string, agent: Agent, key: Key, at: Date): Promise<string> {
  const challenge = expect(
    await call(base, agent, 'POST', '/api/v1/auth/challenge'),
    200,
    'challenge',
  );
  const payload = challenge.payload as Record<string, unknown>;
  const answer = await call(base, agent, 'POST', '/api/v1/auth/login', {
    payload,
    signature: sign(key, payload, at),
  });
  return expect(answer, 200, 'login').token as string;
}

export async function register(
  base: string,
  agent: Agent,
  keys: { sign: Key; auth: Key; bin: string; iin: string },
  roles: string[],
): Promise<Company> {
  const payload = registration(keys.bin, await nonce(base, agent), roles);
  const answer = await call(base, agent, 'POST', '/api/v1/participants', {
    payload,
    signature: sign(keys.sign, payload, new Date()),
  });
  const participantId = expect(answer, 201, `registration of ${keys.bin}`).participantId as string;
  return { ...keys, participantId, token: '' };
}

/** Adds what the workers issued to the server's demo CA records, so OCSP answers "good". */
export function recordIssued(
  caDir: string,
  certificates: readonly Certificate[],
  alg: DemoAlgorithm[],
) {
  const path = join(caDir, 'issued.json');
  const issued = JSON.parse(readFileSync(path, 'utf8')) as IssuedRecord[];
  const now = new Date().toISOString();
  for (const [index, certificate] of certificates.entries()) {
    issued.push({
      serial: certificate.serialHex,
      algorithm: alg[index]!,
      subject: certificate.subject.text,
      notAfter: certificate.notAfter.toISOString(),
      issuedAt: now,
    });
  }
  writeFileSync(`${path}.tmp`, `${JSON.stringify(issued, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

interface Setup {
  customer: Company;
  suppliers: Company[];
  procurements: { id: string; lotId: string }[];
  deadline: Date;
  keyMaterial: KeyMaterial[];
  seconds: { issue: number; register: number; publish: number; fund: number };
}

/** Keys from the workers, companies registered over HTTP as their keys arrive. */
export async function registerSuppliers(
  base: string,
  agent: Agent,
  ca: DemoCa,
  pool: SigningPool,
  timing: { issue: number },
  count = SUPPLIERS,
): Promise<{ suppliers: Company[]; keyMaterial: KeyMaterial[] }> {
  const orders = Array.from({ length: count }, (_, index) => ({
    alg: (index % 2 === 0 ? 'gost2015' : 'rsa') as DemoAlgorithm,
    bin: withCheckDigit('2103400'),
    iin: withCheckDigit('8704123'),
  }));
  const started = performance.now();
  const batch = 20;
  const batches = Array.from({ length: Math.ceil(count / batch) }, (_, index) =>
    orders.slice(index * batch, (index + 1) * batch),
  );
  const suppliers: Company[] = [];
  const keyMaterial: KeyMaterial[] = new Array<KeyMaterial>(count);
  const registrations: Promise<void>[] = [];
  await inParallel(batches, pool.size, async (group, groupIndex) => {
    const issued = await pool.run<KeyMaterial[]>({
      kind: 'issue',
      orders: group.flatMap((order) => [
        { ...order, purpose: 'sign' as const },
        // Authentication keys are GOST for all: they only log in, and RSA key generation is slow.
        { ...order, alg: 'gost2015' as const, purpose: 'auth' as const },
      ]),
    });
    const keys = issued.map((material) => keyFrom(ca, material));
    recordIssued(
      ca.dir,
      keys.map((key) => key.certificate),
      keys.map((key) => key.alg),
    );
    for (const [index, order] of group.entries()) {
      keyMaterial[groupIndex * batch + index] = issued[2 * index]!;
      const sign = keys[2 * index]!;
      const auth = keys[2 * index + 1]!;
      registrations.push(
        register(base, agent, { sign, auth, bin: order.bin, iin: order.iin }, [
          'potential_supplier',
        ]).then((company) => {
          suppliers[groupIndex * batch + index] = company;
        }),
      );
    }
  });
  timing.issue = (performance.now() - started) / 1000;
  await Promise.all(registrations);
  return { suppliers, keyMaterial };
}

/** The customer's approved plan and its tenders, published with one common deadline. */
async function publishTenders(
  base: string,
  agent: Agent,
  customer: Company,
): Promise<{ procurements: { id: string; lotId: string }[]; deadline: Date }> {
  const signed = async (action: string, fields: object) => {
    const payload = {
      action,
      nonce: await nonce(base, agent),
      participantId: customer.participantId,
      ...fields,
    };
    return { payload, signature: sign(customer.sign, payload, new Date()) };
  };
  const post = (path: string, payload: object) =>
    call(base, agent, 'POST', path, payload, customer.token);
  const year = new Date(Date.now() + 5 * 3600_000).getUTCFullYear();
  const month = new Date(Date.now() + 5 * 3600_000).getUTCMonth() + 1;
  const plan = expect(
    await post('/api/v1/plans', {
      participantId: customer.participantId,
      year,
      kind: 'annual',
      items: Array.from({ length: PROCUREMENTS }, () => ({ ...LOT_ITEM, month })),
    }),
    201,
    'plan',
  );
  const planId = plan.planId as string;
  expect(
    await post(`/api/v1/plans/${planId}/approval`, await signed('plan.approve', { planId })),
    201,
    'plan approval',
  );
  const procurements: { id: string; lotId: string }[] = [];
  let deadline: string | undefined;
  for (const planItemId of plan.itemIds as string[]) {
    const draft = expect(
      await post('/api/v1/procurements', {
        participantId: customer.participantId,
        regime: 'public',
        method: 'tender',
        titles: { kk: 'Ноутбуктер сатып алу', ru: 'Закупка ноутбуков', en: 'Laptops' },
        lots: [{ planItemId }],
      }),
      201,
      'procurement draft',
    );
    const id = draft.procurementId as string;
    const fields = deadline === undefined ? {} : { offersEndAt: deadline };
    expect(
      await post(
        `/api/v1/procurements/${id}/publication`,
        await signed('procurement.publish', { procurementId: id, ...fields }),
      ),
      200,
      'publication',
    );
    const view = expect(
      await call(base, agent, 'GET', `/api/v1/procurements/${id}`, undefined, customer.token),
      200,
      'procurement',
    );
    deadline ??= view.offersEndAt as string;
    if (view.offersEndAt !== deadline) throw new Error(`${id} has another deadline`);
    const lots = view.lots as { id: string }[];
    procurements.push({ id, lotId: lots[0]!.id });
  }
  return { procurements, deadline: new Date(deadline!) };
}

export async function fund(schema: string, suppliers: readonly Company[]): Promise<void> {
  const db = await openPostgres({ url: DATABASE_URL, schema, poolSize: 8 });
  try {
    await inParallel(suppliers, 8, (supplier) =>
      db.transaction((tx) =>
        deposit(tx, {
          participantId: supplier.participantId,
          amount: FUNDS_TIYN,
          reference: `bank:bench:${randomUUID()}`,
          at: new Date(),
          actor: 'bench',
        }),
      ),
    );
  } finally {
    await db.close();
  }
}

/** A customer company with GOST keys from the workers, registered and logged in now. */
export async function registerCustomer(
  base: string,
  agent: Agent,
  ca: DemoCa,
  pool: SigningPool,
): Promise<Company> {
  const bin = withCheckDigit('1905400');
  const iin = withCheckDigit('7505123');
  const customerKeys = await pool.run<KeyMaterial[]>({
    kind: 'issue',
    orders: (['sign', 'auth'] as const).map((purpose) => ({
      alg: 'gost2015' as const,
      purpose,
      bin,
      iin,
    })),
  });
  const [customerSign, customerAuth] = customerKeys.map((material) => keyFrom(ca, material));
  recordIssued(
    ca.dir,
    [customerSign!.certificate, customerAuth!.certificate],
    ['gost2015', 'gost2015'],
  );
  const keys = { sign: customerSign!, auth: customerAuth!, bin, iin };
  const customer = await register(base, agent, keys, ['customer']);
  customer.token = await logIn(base, agent, customer.auth, new Date());
  return customer;
}

async function setUp(
  schema: string,
  dataDir: string,
  server: Server,
  pool: SigningPool,
): Promise<Setup> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const ca = loadDemoCa({ dir: join(dataDir, 'pki', 'demo'), clock: () => new Date() });
  const timing = { issue: 0, register: 0, publish: 0, fund: 0 };
  try {
    let started = performance.now();
    const customer = await registerCustomer(server.base, agent, ca, pool);
    const tenders = await publishTenders(server.base, agent, customer);
    timing.publish = (performance.now() - started) / 1000;

    started = performance.now();
    const { suppliers, keyMaterial } = await registerSuppliers(
      server.base,
      agent,
      ca,
      pool,
      timing,
    );
    timing.register = (performance.now() - started) / 1000;
    started = performance.now();
    await fund(schema, suppliers);
    timing.fund = (performance.now() - started) / 1000;
    return { customer, suppliers, ...tenders, keyMaterial, seconds: timing };
  } finally {
    agent.destroy();
  }
}

// ---- the rush ----

interface Offer {
  supplier: number;
  procurement: number;
  /** When the client sends it, in the server's time. */
  at: number;
  nonce: string;
  payload: Record<string, unknown>;
  signature: string;
}

interface Outcome {
  offer: Offer;
  status: number;
  code: string | null;
  sentAt: number;
  latencyMs: number;
  receivedAt: number | null;
  applicationId: string | null;
}

/**
 * Who sends what, when: each supplier offers once in each tender, in random order. Every client
 * starts 60 s before the deadline and sends its offers one after another as fast as the server
 * answers, so the rush measures how many the server accepts per second; the last 1% are due on
 * purpose up to 2 s after the deadline.
 */
function schedule(deadline: number): Omit<Offer, 'nonce' | 'payload' | 'signature'>[] {
  const pairs = Array.from({ length: OFFERS }, (_, index) => ({
    supplier: Math.floor(index / PROCUREMENTS),
    procurement: index % PROCUREMENTS,
  }));
  for (let index = pairs.length - 1; index > 0; index -= 1) {
    const other = Math.floor(Math.random() * (index + 1));
    [pairs[index], pairs[other]] = [pairs[other]!, pairs[index]!];
  }
  const onTime = OFFERS - LATE_OFFERS;
  const start = deadline - RUSH_MS;
  return pairs.map((pair, index) => ({
    ...pair,
    at:
      index < onTime ? start : deadline + Math.round((2_000 * (index - onTime + 1)) / LATE_OFFERS),
  }));
}

interface Prepared {
  offers: Offer[];
  loginSeconds: number;
  nonceSeconds: number;
  signing: {
    seconds: number;
    signaturesPerSecond: number;
    cpuMsPerSignature: Record<DemoAlgorithm, number>;
  };
}

/** Logs every supplier in, takes a nonce per offer and signs every offer before the rush. */
async function prepare(
  server: Server,
  setup: Setup,
  pool: SigningPool,
  offsetMs: number,
): Promise<Prepared> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  try {
    let started = performance.now();
    await inParallel(setup.suppliers, 32, async (supplier) => {
      supplier.token = await logIn(
        server.base,
        agent,
        supplier.auth,
        new Date(Date.now() + offsetMs),
      );
    });
    const loginSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    const planned = schedule(setup.deadline.getTime());
    const nonces = await inParallel(planned, 64, () => nonce(server.base, agent));
    const nonceSeconds = (performance.now() - started) / 1000;

    started = performance.now();
    const offers: Offer[] = planned.map((plan, index) => {
      const procurement = setup.procurements[plan.procurement]!;
      const price = 4_000_000 + Math.floor(Math.random() * 500_000);
      return {
        ...plan,
        nonce: nonces[index]!,
        signature: '',
        payload: {
          action: 'application.submit',
          nonce: nonces[index]!,
          participantId: setup.suppliers[plan.supplier]!.participantId,
          procurementId: procurement.id,
          lots: [{ lotId: procurement.lotId, price: `${price}.00`, security: { kind: 'wallet' } }],
        },
      };
    });
    const chunk = 250;
    const chunks = Array.from({ length: Math.ceil(offers.length / chunk) }, (_, index) =>
      offers.slice(index * chunk, (index + 1) * chunk),
    );
    const cpuMs: Record<DemoAlgorithm, number> = { rsa: 0, gost2015: 0 };
    await inParallel(chunks, pool.size, async (group) => {
      const answer = await pool.run<SignAnswer>({
        kind: 'sign',
        orders: group.map((offer) => ({
          key: offer.supplier,
          payload: offer.payload,
          at: offer.at,
        })),
      });
      for (const [index, offer] of group.entries()) offer.signature = answer.signatures[index]!;
      cpuMs.rsa += answer.cpuMs.rsa;
      cpuMs.gost2015 += answer.cpuMs.gost2015;
    });
    const seconds = (performance.now() - started) / 1000;
    const count = (alg: DemoAlgorithm) =>
      offers.filter((offer) => setup.keyMaterial[offer.supplier]!.alg === alg).length;
    return {
      offers,
      loginSeconds: round(loginSeconds, 1),
      nonceSeconds: round(nonceSeconds, 1),
      signing: {
        seconds: round(seconds, 2),
        signaturesPerSecond: round(offers.length / seconds, 0),
        cpuMsPerSignature: {
          rsa: round(cpuMs.rsa / count('rsa'), 3),
          gost2015: round(cpuMs.gost2015 / count('gost2015'), 3),
        },
      },
    };
  } finally {
    agent.destroy();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Every supplier is one client on its own keep-alive connection, one offer in flight. */
async function rush(server: Server, setup: Setup, offers: Offer[], offsetMs: number) {
  const serverNow = () => Date.now() + offsetMs;
  const bySupplier = new Map<number, Offer[]>();
  for (const offer of offers) {
    const mine = bySupplier.get(offer.supplier) ?? [];
    mine.push(offer);
    bySupplier.set(offer.supplier, mine);
  }
  const outcomes: Outcome[] = [];
  const agents: Agent[] = [];
  await Promise.all(
    [...bySupplier.entries()].map(async ([supplier, mine]) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      const token = setup.suppliers[supplier]!.token;
      mine.sort((a, b) => a.at - b.at);
      for (const offer of mine) {
        await pause(offer.at - serverNow());
        const sentAt = serverNow();
        const started = performance.now();
        let answer: Answer;
        try {
          answer = await call(
            server.base,
            agent,
            'POST',
            `/api/v1/procurements/${offer.payload.procurementId as string}/applications`,
            { payload: offer.payload, signature: offer.signature },
            token,
          );
        } catch (error) {
          answer = { status: 0, body: { code: `client.${(error as Error).message}` } };
        }
        const latencyMs = performance.now() - started;
        const created = answer.status === 201;
        outcomes.push({
          offer,
          status: answer.status,
          code: created ? null : ((answer.body.code as string | undefined) ?? 'unknown'),
          sentAt,
          latencyMs,
          receivedAt: created ? Date.parse(answer.body.receivedAt as string) : null,
          applicationId: created ? (answer.body.applicationId as string) : null,
        });
      }
    }),
  );
  for (const agent of agents) agent.destroy();
  return outcomes;
}

interface Opening {
  seconds: number;
  openedAfterDeadlineMs: { first: number; last: number };
  acknowledged: number;
  missingAfterOpening: number;
  priceOffers: number;
  storedAfterDeadline: number;
  /** Receipts of the offers against the RFC 3161 tokens that stamped them (batches). */
  receipts: { receipts: number; tokens: number; perToken: number };
}

/** Waits for the chronograph to open every tender, then checks each acknowledged offer. */
async function checkOpening(
  schema: string,
  setup: Setup,
  outcomes: readonly Outcome[],
): Promise<Opening> {
  const client = new pg.Client({ connectionString: withSearchPath(DATABASE_URL, schema) });
  await client.connect();
  try {
    const ids = setup.procurements.map((procurement) => procurement.id);
    const started = performance.now();
    let opened: { opened_at: Date | null }[] = [];
    while (performance.now() - started < 180_000) {
      opened = (
        await client.query<{ opened_at: Date | null }>(
          'SELECT opened_at FROM procurement_key WHERE procurement_id = ANY($1)',
          [ids],
        )
      ).rows;
      if (opened.length === ids.length && opened.every((row) => row.opened_at !== null)) break;
      await pause(250);
    }
    const seconds = (performance.now() - started) / 1000;
    const acknowledged = outcomes
      .map((outcome) => outcome.applicationId)
      .filter((id): id is string => id !== null);
    const found = await client.query<{ id: string }>(
      'SELECT DISTINCT application_id AS id FROM price_offer WHERE application_id = ANY($1)',
      [acknowledged],
    );
    const priceOffers = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM price_offer o JOIN application a ON a.id = o.application_id
        WHERE a.procurement_id = ANY($1)`,
      [ids],
    );
    const late = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM application a JOIN procurement p ON p.id = a.procurement_id
        WHERE a.procurement_id = ANY($1) AND a.received_at >= p.offers_end_at`,
      [ids],
    );
    const stamped = await client.query<{ receipts: string; tokens: string }>(
      `SELECT count(*) AS receipts,
              count(DISTINCT r.receipt -> 'platform' ->> 'timestampToken') AS tokens
         FROM receipt r JOIN application a ON a.signed_document_id = r.signed_document_id
        WHERE a.procurement_id = ANY($1)`,
      [ids],
    );
    const receipts = Number(stamped.rows[0]!.receipts);
    const tokens = Number(stamped.rows[0]!.tokens);
    const after = opened
      .filter((row) => row.opened_at !== null)
      .map((row) => row.opened_at!.getTime() - setup.deadline.getTime());
    return {
      seconds: round(seconds, 1),
      openedAfterDeadlineMs: {
        first: after.length === 0 ? Number.NaN : Math.min(...after),
        last: after.length === ids.length ? Math.max(...after) : Number.NaN,
      },
      acknowledged: acknowledged.length,
      missingAfterOpening: acknowledged.length - found.rows.length,
      priceOffers: Number(priceOffers.rows[0]!.n),
      storedAfterDeadline: Number(late.rows[0]!.n),
      receipts: { receipts, tokens, perToken: round(receipts / Math.max(tokens, 1), 2) },
    };
  } finally {
    await client.end();
  }
}

function summarise(outcomes: readonly Outcome[], deadline: number) {
  const accepted = outcomes.filter((outcome) => outcome.status === 201);
  const refusals: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (outcome.code !== null) {
      const key = `${outcome.status} ${outcome.code}`;
      refusals[key] = (refusals[key] ?? 0) + 1;
    }
  }
  const perSecond = new Map<number, number>();
  for (const outcome of accepted) {
    const second = Math.floor((outcome.receivedAt! - deadline) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  const from = seconds[0] ?? 0;
  const timeline = {
    fromSecond: from,
    counts: Array.from({ length: (seconds.at(-1) ?? from) - from + 1 }, (_, index) =>
      String(perSecond.get(from + index) ?? 0),
    ).join(' '),
  };
  let peak5s = 0;
  for (const second of seconds) {
    let sum = 0;
    for (let offset = 0; offset < 5; offset += 1) sum += perSecond.get(second + offset) ?? 0;
    peak5s = Math.max(peak5s, sum / 5);
  }
  const latencies = outcomes.map((outcome) => outcome.latencyMs);
  const acceptedLatencies = accepted.map((outcome) => outcome.latencyMs);
  const firstSent = Math.min(...outcomes.map((outcome) => outcome.sentAt));
  const lastAccepted = Math.max(...accepted.map((outcome) => outcome.receivedAt!));
  const sentLate = outcomes.filter((outcome) => outcome.sentAt >= deadline);
  const scheduledLate = outcomes.filter((outcome) => outcome.offer.at >= deadline);
  return {
    offers: outcomes.length,
    accepted: accepted.length,
    acceptedPerSecond: round(accepted.length / ((lastAccepted - firstSent) / 1000), 1),
    peakAcceptedPerSecondOver5s: round(peak5s, 1),
    latencyMs: {
      p50: round(median(latencies), 1),
      p90: round(percentile(latencies, 90), 1),
      p99: round(percentile(latencies, 99), 1),
      max: round(Math.max(...latencies), 1),
      acceptedP99: round(percentile(acceptedLatencies, 99), 1),
    },
    refusals,
    acceptedAfterDeadline: accepted.filter((outcome) => outcome.receivedAt! >= deadline).length,
    sentAfterDeadline: sentLate.length,
    scheduledAfterDeadline: scheduledLate.length,
    lastAcceptedBeforeDeadlineMs: deadline - lastAccepted,
    sendDelayMs: {
      p50: round(median(outcomes.map((outcome) => outcome.sentAt - outcome.offer.at)), 1),
      p99: round(
        percentile(
          outcomes.map((outcome) => outcome.sentAt - outcome.offer.at),
          99,
        ),
        1,
      ),
    },
    /** Offers accepted per second (by receivedAt), from `fromSecond` after the deadline. */
    acceptedPerSecondTimeline: timeline,
  };
}

export async function createSchema(schema: string, create: boolean): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(create ? `CREATE SCHEMA ${schema}` : `DROP SCHEMA ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

async function deadlineRush() {
  const schema = `bench_participation_${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'upp-bench-participation-'));
  const copies = Array.from({ length: WORKERS }, (_, index) => join(dataDir, `worker-ca-${index}`));
  await createSchema(schema, true);
  let pool: SigningPool | undefined;
  const servers: Server[] = [];
  try {
    const wallStarted = performance.now();
    const publicUrl = `http://127.0.0.1:${await freePort()}`;
    const first = await startNode(schema, dataDir, publicUrl, 0);
    servers.push(first);
    pool = new SigningPool(join(dataDir, 'pki', 'demo'), copies);
    const setup = await setUp(schema, dataDir, first, pool);
    await stop(first.child);
    console.error(
      `set up ${setup.suppliers.length} suppliers and ${setup.procurements.length} tenders ` +
        `(deadline ${setup.deadline.toISOString()}) in ${round(
          (performance.now() - wallStarted) / 1000,
        )} s`,
    );

    // The rush node's clock reads LEAD_MS before the deadline when it starts.
    const offsetMs = setup.deadline.getTime() - LEAD_MS - Date.now();
    const node = await startNode(schema, dataDir, publicUrl, offsetMs, NODE_WORKERS);
    servers.push(node);
    await pool.run<number>({ kind: 'keys', keys: setup.keyMaterial }, 0);
    await pool.run<number>({ kind: 'keys', keys: setup.keyMaterial }, 1);
    const prepared = await prepare(node, setup, pool, offsetMs);
    const rushStart = setup.deadline.getTime() - RUSH_MS;
    const spareMs = rushStart - (Date.now() + offsetMs);
    console.error(`prepared ${prepared.offers.length} signed offers; rush in ${spareMs} ms`);
    const outcomes = await rush(node, setup, prepared.offers, offsetMs);
    const figures = summarise(outcomes, setup.deadline.getTime());
    const opening = await checkOpening(schema, setup, outcomes);
    await stop(node.child);
    const byAlg = (alg: DemoAlgorithm) =>
      outcomes.filter((outcome) => setup.keyMaterial[outcome.offer.supplier]!.alg === alg);
    const algLatency = (alg: DemoAlgorithm) => {
      const mine = byAlg(alg);
      return {
        offers: mine.length,
        accepted: mine.filter((outcome) => outcome.status === 201).length,
        p99Ms: round(
          percentile(
            mine.map((outcome) => outcome.latencyMs),
            99,
          ),
          1,
        ),
      };
    };
    return {
      description:
        `Deadline rush: ${SUPPLIERS} supplier companies (first heads with demo CA keys, half ` +
        'GOST 34.10-2015 512-bit and half RSA-2048 signing keys, GOST authentication keys) ' +
        'registered over HTTP, wallets funded by wallet deposits, one customer with ' +
        `${PROCUREMENTS} published one-lot tenders sharing one deadline (the minimum ` +
        'schedule). The rush node is startServer (as upp serve) on the PostgreSQL server in ' +
        `${NODE_WORKERS} worker process${NODE_WORKERS === 1 ? '' : 'es'} on one port, ` +
        `each with pg pool 16 and a chronograph every ${CHRONOGRAPH_MS} ms, whose clock ` +
        `is the real one shifted so that it starts ${LEAD_MS / 1000} s before the deadline. ` +
        `Before the rush every supplier logs in and every offer gets its nonce and its CMS ` +
        `(signed in ${WORKERS} worker threads). In the rush each supplier is one client on ` +
        `its own keep-alive connection with one offer in flight; from 60 s before the ` +
        `deadline each sends its offers (one per tender, ${OFFERS} in all) one after another ` +
        `as fast as they are answered, except the last ${LATE_OFFERS}, due up to 2 s after ` +
        'the deadline. Accepted per second is the accepted offers over the time from the ' +
        'first sent to the last accepted. After the chronograph opened the offers, every ' +
        'acknowledged (201) application is looked up in price_offer. Target: >= 300 signed ' +
        'offers accepted per second; 0 accepted after the deadline; 0 acknowledged missing.',
      setup: {
        suppliers: setup.suppliers.length,
        procurements: setup.procurements.length,
        deadline: setup.deadline.toISOString(),
        seconds: {
          customerAndTenders: round(setup.seconds.publish, 1),
          supplierKeysIssued: round(setup.seconds.issue, 1),
          suppliersRegistered: round(setup.seconds.register, 1),
          walletsFunded: round(setup.seconds.fund, 1),
          logins: prepared.loginSeconds,
          nonces: prepared.nonceSeconds,
        },
        spareBeforeRushMs: spareMs,
      },
      signing: { signatures: prepared.offers.length, ...prepared.signing },
      rush: {
        ...figures,
        byAlgorithm: { gost2015: algLatency('gost2015'), rsa: algLatency('rsa') },
      },
      opening,
      serverErrors: Object.fromEntries(node.errors),
      wallSeconds: round((performance.now() - wallStarted) / 1000, 1),
      targetsMet: {
        acceptedPerSecond: figures.acceptedPerSecond >= 300,
        noneAcceptedAfterDeadline:
          figures.acceptedAfterDeadline === 0 && opening.storedAfterDeadline === 0,
        noneMissingAfterOpening: opening.missingAfterOpening === 0,
      },
    };
  } finally {
    for (const server of servers) await stop(server.child);
    await pool?.close();
    await createSchema(schema, false).catch((error: unknown) => console.error(error));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const RESULTS = new URL('./results/participation.json', import.meta.url);

/**
 * The figures recorded before, without the fields bench/run.ts writes, so that a part run alone
 * keeps the other part's figures with the command, time and machine they were measured with.
 */
function recorded(): Record<string, unknown> {
  if (!existsSync(RESULTS)) return {};
  const figures = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>;
  delete figures.benchmark;
  return figures;
}

/** UPP_BENCH_PART: a (the deadline rush), b (the auction) or all (the default). */
export async function benchParticipation() {
  const part = process.env.UPP_BENCH_PART ?? 'all';
  if (part !== 'a' && part !== 'b' && part !== 'all') {
    throw new Error(`UPP_BENCH_PART is a, b or all, not ${part}`);
  }
  const before = recorded();
  const rush = part === 'b' ? before : await deadlineRush();
  const auction = part === 'a' ? before.auction : await benchAuction();
  return { ...rush, auction };
}

if (process.argv[2] === 'serve' && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await serveShifted();
}
