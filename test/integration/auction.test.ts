// The real-time auction over real HTTP, signatures and both databases: opened from the admitted
// offers, bids by the step, the late-bid extension and the close, all on the injected clock.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeDueAuctions } from '../../src/services/auctions.js';
import type { OpenedAuction } from '../../src/services/auctions.js';
import { migrate } from '../../src/store/migrate.js';
import type { Database } from '../../src/store/database.js';
import { describeEachDatabase } from '../support/databases.js';
import type { TestDatabase } from '../support/databases.js';
import type { TestApp } from '../support/app.js';
import { registerCompany } from '../support/participants.js';
import type { Company } from '../support/participants.js';
import { post, signed, view } from '../support/procurements.js';
import { logIn } from '../support/signing.js';
import { testApp } from '../support/app.js';
import { fund } from '../support/procurements.js';
import { inReview, openByChronograph } from './auction-fixture.js';

const TIMEOUT = { timeout: 120_000 };
const MINUTE = 60_000;

interface Frame {
  id?: string;
  event?: string;
  body?: Record<string, unknown>;
}

/** Reads a text/event-stream response event by event, skipping comments and retry lines. */
class EventReader {
  private buffer = '';
  readonly text: string[] = [];
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  async next(): Promise<Frame> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        this.text.push(block);
        const frame: Frame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) frame.id = line.slice(4);
          else if (line.startsWith('event: ')) frame.event = line.slice(7);
          else if (line.startsWith('data: ')) frame.body = JSON.parse(line.slice(6));
        }
        if (frame.event !== undefined) return frame;
        continue;
      }
      const chunk = await this.reader.read();
      if (chunk.done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }
}

async function bid(t: TestApp, supplier: Company, auctionId: string, price: string) {
  return post(
    t.app,
    `/api/v1/auctions/${auctionId}/bids`,
    supplier.token,
    await signed(t, supplier, 'auction.bid', { auctionId, price }),
  );
}

async function auctionView(t: TestApp, company: Company, auctionId: string) {
  return t.app.inject({
    method: 'GET',
    url: `/api/v1/auctions/${auctionId}`,
    headers: { authorization: `Bearer ${company.token}` },
  });
}

const open = openByChronograph;

async function lotResult(db: Database, lotId: string) {
  const found = await db.query<{
    winner_application_id: string | null;
    winner_price: bigint | null;
    winner_conditional_price: bigint | null;
    second_application_id: string | null;
    bidders: number;
  }>(
    `SELECT winner_application_id, winner_price, winner_conditional_price, second_application_id,
            bidders FROM lot_result WHERE lot_id = $1`,
    [lotId],
  );
  return found.rows;
}

async function applicationOf(db: Database, procurementId: string, supplier: Company) {
  const found = await db.query<{ id: string }>(
    `SELECT id FROM application
      WHERE procurement_id = $1 AND supplier_participant_id = $2 AND status = 'submitted'`,
    [procurementId, supplier.participantId],
  );
  return found.rows[0]!.id;
}

describeEachDatabase('auctions', (fresh) => {
  let t: TestApp;
  let customer: Company;
  let alpha: Company;
  let beta: Company;
  let gamma: Company;
  let listening: string | undefined;
  let testDb: TestDatabase;

  before(async () => {
    testDb = await fresh();
    const db = await testDb.open();
    await migrate(db);
    t = await testApp(db);
    customer = await registerCompany(t);
    alpha = await registerCompany(t);
    beta = await registerCompany(t, 'gost2015');
    gamma = await registerCompany(t);
    for (const supplier of [alpha, beta, gamma]) await fund(t, supplier, 10_000_000n);
  });

  after(async () => {
    if (listening !== undefined) await t.app.close();
  });

  test('an auction opens from the admitted offers, the lowest as its start', TIMEOUT, async () => {
    const { procurementId, lotId } = await inReview(t, customer, [
      [alpha, '4200000.00'],
      [beta, '4100000.00'],
      [gamma, '3900000.00'],
    ]);
    const db = t.app.ctx.db;
    await db.query(
      `INSERT INTO admission (application_id, lot_id, admitted, document_id, decided_at)
       SELECT id, $2, false, signed_document_id, $3 FROM application
        WHERE procurement_id = $1 AND supplier_participant_id = $4`,
      [procurementId, lotId, t.clock.now(), gamma.participantId],
    );

    const [opened] = await open(t, procurementId);

    assert.equal(opened!.startingPrice, '4100000.00', 'the refused lower offer does not count');
    assert.equal(opened!.participants, 2);
    assert.equal(opened!.endsAt.getTime() - opened!.startsAt.getTime(), 20 * MINUTE);
    const seen = await auctionView(t, alpha, opened!.auctionId);
    assert.equal(seen.statusCode, 200, seen.body);
    assert.deepEqual(
      { ...(seen.json() as object), auctionId: undefined, startsAt: undefined, endsAt: undefined },
      {
        auctionId: undefined,
        procurementId,
        lotId,
        status: 'running',
        startingPrice: '4100000.00',
        bestPrice: '4100000.00',
        highestAcceptedBid: '4079500.00',
        startsAt: undefined,
        endsAt: undefined,
        sequence: '1',
        participants: 2,
        own: { rank: 2, price: '4200000.00', leading: false },
      },
    );
    assert.equal((await auctionView(t, beta, opened!.auctionId)).json().own.rank, 1);
    for (const outsider of [gamma, customer]) {
      const refused = await auctionView(t, outsider, opened!.auctionId);
      assert.equal(refused.statusCode, 404);
      assert.equal(refused.json().code, 'auction.not_found');
    }
    assert.deepEqual(await open(t, procurementId), [], 'opening again opens nothing');
  });

  let running: OpenedAuction;
  let runningProcurement: string;

  test(
    'a bid a step below is accepted; less than a step, or by an outsider, refused',
    TIMEOUT,
    async () => {
      const pending = await inReview(t, customer, [
        [alpha, '4200000.00'],
        [beta, '4100000.00'],
      ]);
      runningProcurement = pending.procurementId;
      [running] = (await open(t, pending.procurementId)) as [OpenedAuction];
      t.clock.advance(MINUTE);

      const accepted = await bid(t, alpha, running.auctionId, '4079500.00');
      const tooSmall = await bid(t, beta, running.auctionId, '4059103.51');
      gamma.token = await logIn(t.app, gamma.head.auth, t.clock.now());
      const outsider = await bid(t, gamma, running.auctionId, '3000000.00');

      assert.equal(accepted.statusCode, 201, accepted.body);
      assert.equal(accepted.json().sequence, '2');
      assert.deepEqual(accepted.json().own, { rank: 1, price: '4079500.00', leading: true });
      assert.equal(accepted.json().extended, false);
      assert.equal(accepted.json().receipt.action, 'auction.bid');
      assert.equal(tooSmall.statusCode, 409, tooSmall.body);
      assert.equal(tooSmall.json().code, 'auction.step_too_small');
      assert.equal(outsider.statusCode, 403, outsider.body);
      assert.equal(outsider.json().code, 'auction.not_participant');
      const seen = (await auctionView(t, beta, running.auctionId)).json();
      assert.equal(seen.bestPrice, '4079500.00');
      assert.equal(seen.highestAcceptedBid, '4059102.50');
      assert.deepEqual(seen.own, { rank: 2, price: '4100000.00', leading: false });
    },
  );

  test(
    'of two equal bids at once the second is refused as not below the best',
    TIMEOUT,
    async () => {
      const answers = await Promise.all([
        bid(t, alpha, running.auctionId, '4000000.00'),
        bid(t, beta, running.auctionId, '4000000.00'),
      ]);
      assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [201, 409]);
      const refused = answers.find((answer) => answer.statusCode === 409)!;
      assert.equal(refused.json().code, 'auction.step_too_small');
      const bids = await t.app.ctx.db.query<{ n: bigint }>(
        'SELECT count(*) AS n FROM auction_bid WHERE auction_id = $1',
        [running.auctionId],
      );
      assert.equal(bids.rows[0]!.n, 2n);
    },
  );

  test(
    'a bid in the last two minutes extends the end to two minutes after it',
    TIMEOUT,
    async () => {
      const before = new Date((await auctionView(t, alpha, running.auctionId)).json().endsAt);
      t.clock.set(new Date(before.getTime() - 90_000));
      const best = (await auctionView(t, alpha, running.auctionId)).json().highestAcceptedBid;
      const leader = (await auctionView(t, alpha, running.auctionId)).json().own.leading;
      const late = await bid(t, leader === true ? beta : alpha, running.auctionId, best);

      assert.equal(late.statusCode, 201, late.body);
      assert.equal(late.json().extended, true);
      assert.equal(
        late.json().endsAt,
        new Date(t.clock.now().getTime() + 2 * MINUTE).toISOString(),
      );
    },
  );

  test('at the end bids are refused; the close picks the lowest bid, once', TIMEOUT, async () => {
    const seen = (await auctionView(t, alpha, running.auctionId)).json();
    t.clock.set(seen.endsAt);
    const late = await bid(t, alpha, running.auctionId, '1000000.00');
    assert.equal(late.statusCode, 409, late.body);
    assert.equal(late.json().code, 'auction.after_close');

    const closed = await closeDueAuctions(t.app.ctx.db, t.clock);
    const again = await closeDueAuctions(t.app.ctx.db, t.clock);

    assert.ok(
      closed.some((c) => c.auctionId === running.auctionId),
      "the ended auction is closed (with the first test's, also ended)",
    );
    assert.deepEqual(again, []);
    const lowest = await t.app.ctx.db.query<{ participant_id: string; price: bigint }>(
      `SELECT participant_id, price FROM auction_bid WHERE auction_id = $1
        ORDER BY price LIMIT 1`,
      [running.auctionId],
    );
    const winner = lowest.rows[0]!;
    const winnerCompany = winner.participant_id === alpha.participantId ? alpha : beta;
    const loser = winnerCompany === alpha ? beta : alpha;
    assert.deepEqual(await lotResult(t.app.ctx.db, running.lotId), [
      {
        winner_application_id: await applicationOf(t.app.ctx.db, runningProcurement, winnerCompany),
        winner_price: winner.price,
        winner_conditional_price: winner.price,
        second_application_id: await applicationOf(t.app.ctx.db, runningProcurement, loser),
        bidders: 2,
      },
    ]);
    assert.equal((await view(t, customer, runningProcurement)).status, 'results');
    const after = (await auctionView(t, loser, running.auctionId)).json();
    assert.equal(after.status, 'closed');
    assert.equal(after.highestAcceptedBid, null);
  });

  test(
    'equal prices and no bids: the earlier offer wins; one bidder is enough',
    TIMEOUT,
    async () => {
      const tie = await inReview(t, customer, [
        [beta, '4000000.00'],
        [alpha, '4000000.00'],
      ]);
      const alone = await inReview(t, customer, [[gamma, '4300000.00']]);
      const [tied] = await open(t, tie.procurementId);
      const [single] = await open(t, alone.procurementId);
      assert.equal(single!.participants, 1);
      t.clock.set(new Date(Math.max(tied!.endsAt.getTime(), single!.endsAt.getTime())));

      const closed = await closeDueAuctions(t.app.ctx.db, t.clock);

      assert.equal(closed.length, 2);
      const [tieResult] = await lotResult(t.app.ctx.db, tie.lotId);
      assert.equal(
        tieResult!.winner_application_id,
        await applicationOf(t.app.ctx.db, tie.procurementId, beta),
        'beta offered first',
      );
      assert.equal(tieResult!.winner_price, 400000000n);
      const [singleResult] = await lotResult(t.app.ctx.db, alone.lotId);
      assert.equal(singleResult!.bidders, 1);
      assert.equal(singleResult!.second_application_id, null);
      assert.equal(singleResult!.winner_price, 430000000n);
    },
  );

  test('the live stream shows best price and own rank, no other participant', TIMEOUT, async () => {
    const pending = await inReview(t, customer, [
      [alpha, '4200000.00'],
      [beta, '4100000.00'],
    ]);
    const [opened] = (await open(t, pending.procurementId)) as [OpenedAuction];
    t.clock.advance(MINUTE);
    listening = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const aborter = new AbortController();
    try {
      gamma.token = await logIn(t.app, gamma.head.auth, t.clock.now());
      const outsider = await fetch(`${listening}/api/v1/auctions/${opened.auctionId}/events`, {
        headers: { authorization: `Bearer ${gamma.token}` },
      });
      assert.equal(outsider.status, 404);
      const response = await fetch(`${listening}/api/v1/auctions/${opened.auctionId}/events`, {
        headers: { authorization: `Bearer ${alpha.token}` },
        signal: aborter.signal,
      });
      assert.equal(response.status, 200);
      const reader = new EventReader(response);
      const snapshot = await reader.next();
      assert.equal(snapshot.event, 'snapshot');
      assert.equal(snapshot.id, '1');
      assert.deepEqual(snapshot.body!.own, { rank: 2, price: '4200000.00', leading: false });

      assert.equal((await bid(t, beta, opened.auctionId, '4000000.00')).statusCode, 201);
      const first = await reader.next();
      assert.equal((await bid(t, alpha, opened.auctionId, '3900000.00')).statusCode, 201);
      const second = await reader.next();

      assert.deepEqual(
        [first.id, first.event, first.body!.bestPrice, first.body!.own],
        ['2', 'bid', '4000000.00', { rank: 2, price: '4200000.00', leading: false }],
      );
      assert.deepEqual(
        [second.id, second.body!.bestPrice, second.body!.own],
        ['3', '3900000.00', { rank: 1, price: '3900000.00', leading: true }],
      );
      const everything = reader.text.join('\n');
      for (const secret of [beta.bin, beta.participantId, 'ТОО «Тест Строй»', beta.headIin]) {
        assert.equal(everything.includes(secret), false, `the stream shows ${secret}`);
      }
    } finally {
      aborter.abort();
    }
  });

  test("two nodes see each other's bids", TIMEOUT, async () => {
    const pending = await inReview(t, customer, [
      [alpha, '4200000.00'],
      [beta, '4100000.00'],
    ]);
    const [opened] = (await open(t, pending.procurementId)) as [OpenedAuction];
    t.clock.advance(MINUTE);
    // A second pool on PostgreSQL is a second node; PGlite has one instance to share.
    const other = await testApp(await testDb.openAnother(), {}, t.clock.now().toISOString());
    const otherBase = await other.app.listen({ port: 0, host: '127.0.0.1' });
    const base = listening ?? (await t.app.listen({ port: 0, host: '127.0.0.1' }));
    listening = base;
    const aborter = new AbortController();
    try {
      const stream = (url: string, company: Company) =>
        fetch(`${url}/api/v1/auctions/${opened.auctionId}/events`, {
          headers: { authorization: `Bearer ${company.token}` },
          signal: aborter.signal,
        }).then((response) => new EventReader(response));
      const onOther = await stream(otherBase, alpha);
      const onFirst = await stream(base, beta);
      assert.equal((await onOther.next()).event, 'snapshot');
      assert.equal((await onFirst.next()).event, 'snapshot');

      assert.equal((await bid(t, beta, opened.auctionId, '4000000.00')).statusCode, 201);
      const seenOnOther = await onOther.next();
      const placedOnOther = await bid(other, alpha, opened.auctionId, '3900000.00');
      assert.equal(placedOnOther.statusCode, 201, placedOnOther.body);
      assert.equal((await onFirst.next()).body!.bestPrice, '4000000.00');
      const seenOnFirst = await onFirst.next();

      assert.deepEqual([seenOnOther.id, seenOnOther.body!.bestPrice], ['2', '4000000.00']);
      assert.deepEqual(
        [seenOnFirst.id, seenOnFirst.body!.bestPrice, seenOnFirst.body!.own],
        ['3', '3900000.00', { rank: 2, price: '4000000.00', leading: false }],
      );
    } finally {
      aborter.abort();
      await other.app.close();
    }
  });
});
