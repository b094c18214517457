// Participation benchmark, part (b) the auction: 200 admitted suppliers follow one auction over
// SSE on two `upp serve` nodes while a few of them bid; latency from each bid to every bidder.
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { highestAcceptedBid } from '../src/domain/auction.js';
import { formatAmount } from '../src/domain/money.js';
import { loadDemoCa } from '../src/pki/demo-ca.js';
import { describeMachine, median, percentile } from './machine.js';
import {
  DATABASE_URL,
  LOT_ITEM,
  SigningPool,
  call,
  createSchema,
  expect,
  fund,
  inParallel,
  logIn,
  nonce,
  registerCustomer,
  registerSuppliers,
  sign,
  startNode,
} from './participation.js';
import type { Company, Server } from './participation.js';
import { freePort, round, stop, withSearchPath } from './processes.js';

const BIDDERS = Number(process.env.UPP_BENCH_AUCTION_BIDDERS ?? 200);
/** The suppliers who bid: one per combination of node and signing algorithm. */
const ACTIVE = 4;
const BIDS_PER_SECOND = Number(process.env.UPP_BENCH_AUCTION_RATE ?? 5);
const BIDDING_MS = Number(process.env.UPP_BENCH_AUCTION_SECONDS ?? 30) * 1000;
/** The node that takes the applications starts this long before the deadline (its clock). */
const LEAD_MS = 120_000;
/** How long after the last bid the followers may take to receive it. */
const DRAIN_MS = 10_000;
const TARGET_P99_MS = 100;
const WORKERS = 2;

/** Wall-clock milliseconds with sub-millisecond precision; all processes share one clock. */
const instant = () => performance.timeOrigin + performance.now();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Which of the two nodes a supplier follows and bids on: each pair of algorithms on each. */
const nodeOf = (supplier: number) => Math.floor(supplier / 2) % 2;

interface Auctioned {
  procurementId: string;
  lotId: string;
  offersEndAt: Date;
  reviewEndsAt: Date;
}

/** The customer's approved plan of one auction item, and its auction procurement published. */
async function publishAuction(base: string, agent: Agent, customer: Company): Promise<Auctioned> {
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
  const astana = new Date(Date.now() + 5 * 3600_000);
  const plan = expect(
    await post('/api/v1/plans', {
      participantId: customer.participantId,
      year: astana.getUTCFullYear(),
      kind: 'annual',
      items: [{ ...LOT_ITEM, method: 'auction', month: astana.getUTCMonth() + 1 }],
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
  const draft = expect(
    await post('/api/v1/procurements', {
      participantId: customer.participantId,
      regime: 'public',
      method: 'auction',
      titles: { kk: 'Ноутбуктер сатып алу', ru: 'Закупка ноутбуков', en: 'Laptops' },
      lots: [{ planItemId: (plan.itemIds as string[])[0] }],
    }),
    201,
    'procurement draft',
  );
  const procurementId = draft.procurementId as string;
  expect(
    await post(
      `/api/v1/procurements/${procurementId}/publication`,
      await signed('procurement.publish', { procurementId }),
    ),
    200,
    'publication',
  );
  const view = expect(
    await call(
      base,
      agent,
      'GET',
      `/api/v1/procurements/${procurementId}`,
      undefined,
      customer.token,
    ),
    200,
    'procurement',
  );
  return {
    procurementId,
    lotId: (view.lots as { id: string }[])[0]!.id,
    offersEndAt: new Date(view.offersEndAt as string),
    reviewEndsAt: new Date(view.reviewEndsAt as string),
  };
}

/** Polls `sql` until it answers a row, for what the chronograph does on its own schedule. */
async function waitForRow<R extends object>(
  client: pg.Client,
  sql: string,
  params: unknown[],
  what: string,
): Promise<R> {
  const started = performance.now();
  while (performance.now() - started < 60_000) {
    const found = await client.query<R>(sql, params);
    if (found.rows[0] !== undefined) return found.rows[0];
    await pause(100);
  }
  throw new Error(`${what} did not happen within a minute`);
}

async function logInAll(
  servers: readonly Server[],
  suppliers: readonly Company[],
  offsetMs: number,
): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    await inParallel(suppliers, 16, async (supplier, index) => {
      const server = servers[nodeOf(index) % servers.length]!;
      const at = new Date(Date.now() + offsetMs);
      supplier.token = await logIn(server.base, agent, supplier.auth, at);
    });
  } finally {
    agent.destroy();
  }
}

/** Every supplier's signed application with its price, before the deadline by the node's clock. */
async function submitApplications(
  server: Server,
  suppliers: readonly Company[],
  auctioned: Auctioned,
  offsetMs: number,
): Promise<string[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    return await inParallel(suppliers, 16, async (supplier) => {
      const price = 4_000_000 + Math.floor(Math.random() * 400_000);
      const payload = {
        action: 'application.submit',
        nonce: await nonce(server.base, agent),
        participantId: supplier.participantId,
        procurementId: auctioned.procurementId,
        lots: [{ lotId: auctioned.lotId, price: `${price}.00`, security: { kind: 'wallet' } }],
      };
      const signature = sign(supplier.sign, payload, new Date(Date.now() + offsetMs));
      const answer = await call(
        server.base,
        agent,
        'POST',
        `/api/v1/procurements/${auctioned.procurementId}/applications`,
        { payload, signature },
        supplier.token,
      );
      return expect(answer, 201, 'application').applicationId as string;
    });
  } finally {
    agent.destroy();
  }
}

interface Frame {
  sequence: bigint;
  event: string;
  bestPrice: string | undefined;
  at: number;
}

const IDENTITY = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{12}/gi;

/** One supplier's SSE stream: every event with its arrival, and any other bidder's identity. */
class Follower {
  readonly frames: Frame[] = [];
  /** Identities (ids, BIN, IIN) of other suppliers found in this supplier's events. */
  foreign = 0;
  sequence = 0n;
  readonly ready: Promise<void>;
  #connected: () => void = () => undefined;

  constructor(
    readonly supplier: number,
    readonly node: number,
    private readonly owners: ReadonlyMap<string, number>,
  ) {
    this.ready = new Promise((resolve) => {
      this.#connected = resolve;
    });
  }

  async follow(url: string, token: string, signal: AbortSignal): Promise<void> {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal });
    if (response.status !== 200) throw new Error(`events: ${response.status}`);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done === true || chunk.value === undefined) return;
      const at = instant();
      buffer += decoder.decode(chunk.value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.receive(buffer.slice(0, end), at);
        buffer = buffer.slice(end + 2);
      }
    }
  }

  private receive(block: string, at: number): void {
    const id = /^id: (\d+)$/m.exec(block)?.[1];
    const event = /^event: (.+)$/m.exec(block)?.[1];
    const data = /^data: (.+)$/m.exec(block)?.[1];
    if (id === undefined || event === undefined || data === undefined) return;
    for (const token of data.match(IDENTITY) ?? []) {
      const owner = this.owners.get(token.toLowerCase());
      if (owner !== undefined && owner !== this.supplier) this.foreign += 1;
    }
    const body = JSON.parse(data) as { bestPrice?: string };
    const sequence = BigInt(id);
    if (sequence > this.sequence) this.sequence = sequence;
    this.frames.push({ sequence, event, bestPrice: body.bestPrice, at });
    if (event === 'snapshot') this.#connected();
  }
}

/** Every bidder's identities, to find one in another bidder's events. */
function ownersOf(suppliers: readonly Company[], applications: readonly string[]) {
  const owners = new Map<string, number>();
  for (const [index, supplier] of suppliers.entries()) {
    for (const token of [
      supplier.participantId,
      supplier.bin,
      supplier.iin,
      applications[index]!,
    ]) {
      owners.set(token.toLowerCase(), index);
    }
  }
  return owners;
}

interface Bid {
  bidder: number;
  dueAt: number;
  price: string;
  request: { payload: Record<string, unknown>; signature: string };
}

interface BidOutcome {
  bid: Bid;
  status: number;
  code: string | null;
  sentAt: number;
  answeredAt: number;
  /** The server's instant of the decision (its clock less the offset), from the answer. */
  decidedAt: number | null;
  sequence: bigint | null;
}

/** Bids due at a steady rate, each one step below the one before, signed when due. */
async function prepareBids(
  servers: readonly Server[],
  suppliers: readonly Company[],
  auction: { id: string; startingPrice: bigint; stepBasisPoints: number },
  offsetMs: number,
): Promise<Bid[]> {
  const count = Math.round((BIDS_PER_SECOND * BIDDING_MS) / 1000);
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const nonces = await inParallel(Array.from({ length: count }), 8, (_, index) =>
    nonce(servers[nodeOf(index % ACTIVE)]!.base, agent),
  );
  agent.destroy();
  const start = Date.now() + 2_000;
  let best = auction.startingPrice;
  return nonces.map((value, index) => {
    best = highestAcceptedBid(best, auction.stepBasisPoints);
    const bidder = index % ACTIVE;
    const dueAt = start + Math.round((index * 1000) / BIDS_PER_SECOND);
    const price = formatAmount(best);
    const payload = {
      action: 'auction.bid',
      nonce: value,
      participantId: suppliers[bidder]!.participantId,
      auctionId: auction.id,
      price,
    };
    const signature = sign(suppliers[bidder]!.sign, payload, new Date(dueAt + offsetMs));
    return { bidder, dueAt, price, request: { payload, signature } };
  });
}

/** Sends the bids one after another, each when due or when the one before was answered. */
async function sendBids(
  servers: readonly Server[],
  suppliers: readonly Company[],
  auctionId: string,
  bids: readonly Bid[],
  offsetMs: number,
): Promise<BidOutcome[]> {
  const agents = Array.from(
    { length: ACTIVE },
    () => new Agent({ keepAlive: true, maxSockets: 1 }),
  );
  const outcomes: BidOutcome[] = [];
  try {
    for (const bid of bids) {
      await pause(bid.dueAt - Date.now());
      const sentAt = instant();
      const answer = await call(
        servers[nodeOf(bid.bidder)]!.base,
        agents[bid.bidder]!,
        'POST',
        `/api/v1/auctions/${auctionId}/bids`,
        bid.request,
        suppliers[bid.bidder]!.token,
      ).catch((error: unknown) => ({
        status: 0,
        body: { code: `client.${(error as Error).message}` } as Record<string, unknown>,
      }));
      const answeredAt = instant();
      const accepted = answer.status === 201;
      outcomes.push({
        bid,
        status: answer.status,
        code: accepted ? null : String(answer.body.code ?? 'unknown'),
        sentAt,
        answeredAt,
        decidedAt: accepted ? Date.parse(answer.body.receivedAt as string) - offsetMs : null,
        sequence: accepted ? BigInt(answer.body.sequence as string) : null,
      });
    }
  } finally {
    for (const agent of agents) agent.destroy();
  }
  return outcomes;
}

function spread(values: number[]) {
  return {
    p50: round(median(values), 1),
    p99: round(percentile(values, 99), 1),
    max: round(values.length === 0 ? Number.NaN : Math.max(...values), 1),
  };
}

/** Each accepted bid against every follower's events: latencies, and what did not arrive. */
function summarise(outcomes: readonly BidOutcome[], followers: readonly Follower[]) {
  const accepted = outcomes.filter((outcome) => outcome.sequence !== null);
  const fromAnswer: number[] = [];
  const fromDecision: number[] = [];
  const fromSend: number[] = [];
  const sameNode: number[] = [];
  const otherNode: number[] = [];
  const everyone: number[] = [];
  let missing = 0;
  let coveredBySnapshot = 0;
  let beforeAnswer = 0;
  const arrivals = followers.map(
    (follower) =>
      new Map(
        follower.frames
          .filter((frame) => frame.event === 'bid')
          .map((frame) => [`${frame.sequence}:${frame.bestPrice}`, frame.at]),
      ),
  );
  for (const outcome of accepted) {
    let last = Number.NEGATIVE_INFINITY;
    for (const [index, follower] of followers.entries()) {
      const at = arrivals[index]!.get(`${outcome.sequence}:${outcome.bid.price}`);
      if (at === undefined) {
        missing += 1;
        if (follower.sequence >= outcome.sequence!) coveredBySnapshot += 1;
        continue;
      }
      const latency = at - outcome.answeredAt;
      if (latency < 0) beforeAnswer += 1;
      fromAnswer.push(latency);
      fromDecision.push(at - outcome.decidedAt!);
      fromSend.push(at - outcome.sentAt);
      (follower.node === nodeOf(outcome.bid.bidder) ? sameNode : otherNode).push(latency);
      last = Math.max(last, latency);
    }
    if (last > Number.NEGATIVE_INFINITY) everyone.push(last);
  }
  const refusals: Record<string, number> = {};
  for (const outcome of outcomes.filter((candidate) => candidate.code !== null)) {
    const key = `${outcome.status} ${outcome.code}`;
    refusals[key] = (refusals[key] ?? 0) + 1;
  }
  const sending = outcomes.map((outcome) => outcome.sentAt - outcome.bid.dueAt);
  const firstSent = outcomes[0]?.sentAt ?? 0;
  const lastAnswered = outcomes.at(-1)?.answeredAt ?? 0;
  return {
    bids: {
      sent: outcomes.length,
      accepted: accepted.length,
      refusals,
      acceptedPerSecond: round(accepted.length / ((lastAnswered - firstSent) / 1000), 2),
      answerMs: spread(outcomes.map((outcome) => outcome.answeredAt - outcome.sentAt)),
      sendDelayMs: spread(sending),
    },
    deliveries: {
      expected: accepted.length * followers.length,
      received: fromAnswer.length,
      missing,
      missingButCoveredByLaterSnapshot: coveredBySnapshot,
      arrivedBeforeTheBidderHadTheAnswer: beforeAnswer,
    },
    broadcastMs: {
      fromAnswer: spread(fromAnswer),
      fromAnswerToLastOfAllBidders: spread(everyone),
      fromAnswerOnTheBiddingNode: spread(sameNode),
      fromAnswerOnTheOtherNode: spread(otherNode),
      fromServerDecision: spread(fromDecision),
      fromSend: spread(fromSend),
    },
  };
}

interface Run {
  servers: Server[];
  schema: string;
  dataDir: string;
  pool?: SigningPool;
  db?: pg.Client;
}

/** Registration, publication and wallets on a node whose clock is the real one. */
async function setUp(run: Run, publicUrl: string) {
  const first = await startNode(run.schema, run.dataDir, publicUrl, 0);
  run.servers.push(first);
  run.pool = new SigningPool(
    join(run.dataDir, 'pki', 'demo'),
    Array.from({ length: WORKERS }, (_, index) => join(run.dataDir, `worker-ca-${index}`)),
  );
  const ca = loadDemoCa({ dir: join(run.dataDir, 'pki', 'demo'), clock: () => new Date() });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const customer = await registerCustomer(first.base, agent, ca, run.pool);
    const auctioned = await publishAuction(first.base, agent, customer);
    const timing = { issue: 0 };
    const { suppliers } = await registerSuppliers(first.base, agent, ca, run.pool, timing, BIDDERS);
    await fund(run.schema, suppliers);
    return { auctioned, suppliers };
  } finally {
    agent.destroy();
    await stop(first.child);
  }
}

/** The applications on a node whose clock reads shortly before the deadline. */
async function applyBeforeDeadline(
  run: Run,
  publicUrl: string,
  auctioned: Auctioned,
  suppliers: readonly Company[],
): Promise<string[]> {
  const offsetMs = auctioned.offersEndAt.getTime() - LEAD_MS - Date.now();
  const node = await startNode(run.schema, run.dataDir, publicUrl, offsetMs);
  run.servers.push(node);
  try {
    await waitForRow(
      run.db!,
      `SELECT id FROM procurement WHERE id = $1 AND status = 'accepting'`,
      [auctioned.procurementId],
      'acceptance',
    );
    await logInAll([node], suppliers, offsetMs);
    return await submitApplications(node, suppliers, auctioned, offsetMs);
  } finally {
    await stop(node.child);
  }
}

async function measure(run: Run, publicUrl: string) {
  const wallStarted = performance.now();
  const { auctioned, suppliers } = await setUp(run, publicUrl);
  const setUpSeconds = (performance.now() - wallStarted) / 1000;
  const applications = await applyBeforeDeadline(run, publicUrl, auctioned, suppliers);

  // Both nodes' clocks read just after the review: their chronographs open the auction.
  const offsetMs = auctioned.reviewEndsAt.getTime() + 1_000 - Date.now();
  const nodes = await Promise.all(
    [0, 1].map(() => startNode(run.schema, run.dataDir, publicUrl, offsetMs)),
  );
  run.servers.push(...nodes);
  const row = await waitForRow<{ id: string; starting_price: string; step_basis_points: number }>(
    run.db!,
    `SELECT id, starting_price, step_basis_points FROM auction WHERE procurement_id = $1`,
    [auctioned.procurementId],
    'the auction',
  );
  await logInAll(nodes, suppliers, offsetMs);
  const preparedSeconds = (performance.now() - wallStarted) / 1000;

  const owners = ownersOf(suppliers, applications);
  const followers = suppliers.map((_, index) => new Follower(index, nodeOf(index), owners));
  const aborter = new AbortController();
  const streams = followers.map((follower) =>
    follower
      .follow(
        `${nodes[follower.node]!.base}/api/v1/auctions/${row.id}/events`,
        suppliers[follower.supplier]!.token,
        aborter.signal,
      )
      .catch((error: unknown) => {
        if (!aborter.signal.aborted) console.error('follower failed', error);
      }),
  );
  try {
    await Promise.all(followers.map((follower) => follower.ready));
    const auction = {
      id: row.id,
      startingPrice: BigInt(row.starting_price),
      stepBasisPoints: row.step_basis_points,
    };
    const bids = await prepareBids(nodes, suppliers, auction, offsetMs);
    const outcomes = await sendBids(nodes, suppliers, row.id, bids, offsetMs);
    const last = outcomes.reduce((top, outcome) => {
      const sequence = outcome.sequence ?? 0n;
      return sequence > top ? sequence : top;
    }, 0n);
    const drained = performance.now();
    while (
      performance.now() - drained < DRAIN_MS &&
      followers.some((follower) => follower.sequence < last)
    ) {
      await pause(50);
    }
    return {
      auction,
      outcomes,
      followers,
      seconds: { setUp: setUpSeconds, prepared: preparedSeconds },
      wallStarted,
    };
  } finally {
    aborter.abort();
    await Promise.all(streams);
  }
}

export async function benchAuction() {
  const machine = describeMachine();
  const recordedAt = new Date().toISOString();
  const run: Run = {
    servers: [],
    schema: `bench_auction_${randomBytes(4).toString('hex')}`,
    dataDir: mkdtempSync(join(tmpdir(), 'upp-bench-auction-')),
  };
  await createSchema(run.schema, true);
  run.db = new pg.Client({ connectionString: withSearchPath(DATABASE_URL, run.schema) });
  await run.db.connect();
  try {
    const publicUrl = `http://127.0.0.1:${await freePort()}`;
    const measured = await measure(run, publicUrl);
    const figures = summarise(measured.outcomes, measured.followers);
    const foreign = measured.followers.reduce((sum, follower) => sum + follower.foreign, 0);
    const frames = measured.followers.reduce((sum, follower) => sum + follower.frames.length, 0);
    const nodes = run.servers.slice(-2);
    return {
      command: 'UPP_BENCH_PART=b npm run bench -- participation',
      recordedAt,
      machine,
      description:
        `Auction: ${BIDDERS} supplier companies (demo CA keys, half GOST 34.10-2015 512-bit ` +
        'and half RSA-2048 signing keys) registered over HTTP, wallets funded by wallet ' +
        'deposits, one customer with a published one-lot auction; every supplier applies with ' +
        'a signed sealed offer on a node whose clock is shortly before the deadline, then two ' +
        'nodes (startServer as upp serve, pg pool 16, chronograph every 200 ms) on the same ' +
        'PostgreSQL schema start with their clocks just past the review, and their chronograph ' +
        `opens the auction with all ${BIDDERS} admitted. Every supplier logs in and holds the ` +
        'auction event stream (SSE), half on each node. ' +
        `${ACTIVE} suppliers (GOST and RSA on each node) then bid in turn, ` +
        `${BIDS_PER_SECOND} bids/s for ${BIDDING_MS / 1000} s, each signed and exactly one ` +
        'step below the best, sent to their own node when due or when the bid before was ' +
        'answered. A delivery is the bid event whose id is the bid sequence and whose best ' +
        'price is the bid price, at one follower; its latency is taken from the bidder ' +
        'receiving the 201 (the broadcast carries no commit time), and also from the ' +
        "server's decision instant (receivedAt of the answer) and from the send. Every " +
        "event is searched for another supplier's participant id, application id, BIN or IIN.",
      auctionId: measured.auction.id,
      startingPrice: formatAmount(measured.auction.startingPrice),
      stepBasisPoints: measured.auction.stepBasisPoints,
      followers: measured.followers.length,
      ...figures,
      identities: { eventsSearched: frames, foreignIdentitiesSeen: foreign },
      serverErrors: nodes.map((node) => Object.fromEntries(node.errors)),
      seconds: {
        setUp: round(measured.seconds.setUp, 1),
        untilStreamsOpened: round(measured.seconds.prepared, 1),
        wall: round((performance.now() - measured.wallStarted) / 1000, 1),
      },
      targetP99Ms: TARGET_P99_MS,
      targetsMet: {
        broadcastP99FromAnswer: figures.broadcastMs.fromAnswer.p99 <= TARGET_P99_MS,
        broadcastP99FromServerDecision: figures.broadcastMs.fromServerDecision.p99 <= TARGET_P99_MS,
        noneMissing: figures.deliveries.missing === 0,
        noForeignIdentity: foreign === 0,
      },
    };
  } finally {
    for (const server of run.servers) await stop(server.child);
    await run.pool?.close();
    await run.db.end().catch(() => undefined);
    await createSchema(run.schema, false).catch((error: unknown) => console.error(error));
    rmSync(run.dataDir, { recursive: true, force: true });
  }
}
