// Live updates through LISTEN/NOTIFY: two pools act as two nodes on the server driver, one
// process on PGlite; messages leave at commit, in order, and survive a lost connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isUppError } from '../../src/domain/errors.js';
import { liveChannel, publish, subscribe } from '../../src/services/live.js';
import type { LiveListener, LiveMessage, Missed } from '../../src/services/live.js';
import type { Database } from '../../src/store/database.js';
import { LISTENER_APPLICATION_NAME } from '../../src/store/postgres.js';
import { describeEachDatabase } from '../support/databases.js';
import type { TestDatabase } from '../support/databases.js';

const TIMEOUT = { timeout: 20_000 };

/** Collects what a subscription hears and lets a test wait for it without sleeping. */
class Inbox implements LiveListener {
  readonly messages: LiveMessage[] = [];
  readonly missed: Missed[] = [];
  private waiters: (() => void)[] = [];

  onMessage(message: LiveMessage): void {
    this.messages.push(message);
    this.wake();
  }

  onMissed(missed: Missed): void {
    this.missed.push(missed);
    this.wake();
  }

  async until(condition: (inbox: Inbox) => boolean): Promise<void> {
    while (!condition(this)) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

const sequences = (inbox: Inbox) => inbox.messages.map((message) => message.sequence);

async function withState(db: Database): Promise<void> {
  await db.exec(`CREATE TABLE live_state (topic text PRIMARY KEY, sequence bigint NOT NULL);`);
}

/** Publishes the topic's next message the way an aggregate would: sequence and NOTIFY in one. */
async function publishNext(db: Database, topic: string, body: unknown): Promise<bigint> {
  return db.transaction(async (tx) => {
    const next = await tx.query<{ sequence: bigint }>(
      `INSERT INTO live_state (topic, sequence) VALUES ($1, 1)
       ON CONFLICT (topic) DO UPDATE SET sequence = live_state.sequence + 1
       RETURNING sequence`,
      [topic],
    );
    const sequence = next.rows[0]!.sequence;
    await publish(tx, topic, { sequence, event: 'price', body });
    return sequence;
  });
}

async function twoNodes(testDb: TestDatabase): Promise<{ sender: Database; receiver: Database }> {
  const sender = await testDb.open();
  const receiver = await testDb.openAnother();
  await withState(sender);
  return { sender, receiver };
}

describeEachDatabase('live updates', (fresh, driver) => {
  test('a message committed on one node reaches a subscriber on another', TIMEOUT, async () => {
    const { sender, receiver } = await twoNodes(await fresh());
    const inbox = new Inbox();
    const subscription = await subscribe(receiver, 'auction.a1', inbox);

    await publishNext(sender, 'auction.a1', { bestPrice: '1250000.00', bids: 3 });
    await inbox.until((box) => box.messages.length === 1);

    assert.deepEqual(inbox.messages[0], {
      topic: 'auction.a1',
      sequence: 1n,
      event: 'price',
      body: { bestPrice: '1250000.00', bids: 3 },
    });
    assert.equal(subscription.sequence, 1n);
    await subscription.close();
  });

  test('nothing leaves a transaction that rolls back', TIMEOUT, async () => {
    const { sender, receiver } = await twoNodes(await fresh());
    const inbox = new Inbox();
    const subscription = await subscribe(receiver, 'auction.a2', inbox);

    await assert.rejects(
      sender.transaction(async (tx) => {
        await publish(tx, 'auction.a2', { sequence: 1n, event: 'price', body: 'rolled back' });
        throw new Error('the bid was refused');
      }),
      /the bid was refused/,
    );
    await publishNext(sender, 'auction.a2', 'committed');
    await inbox.until((box) => box.messages.length >= 1);

    assert.deepEqual(
      inbox.messages.map((message) => message.body),
      ['committed'],
    );
    assert.deepEqual(inbox.missed, []);
    await subscription.close();
  });

  test(
    'concurrent publishers give each topic consecutive sequences in order',
    TIMEOUT,
    async () => {
      const { sender, receiver } = await twoNodes(await fresh());
      const first = new Inbox();
      const second = new Inbox();
      const subscriptions = [
        await subscribe(receiver, 'auction.b1', first),
        await subscribe(receiver, 'auction.b2', second),
      ];

      await Promise.all([
        ...Array.from({ length: 20 }, (_, bid) => publishNext(sender, 'auction.b1', { bid })),
        ...Array.from({ length: 8 }, (_, bid) => publishNext(sender, 'auction.b2', { bid })),
      ]);
      await first.until((box) => box.messages.length === 20);
      await second.until((box) => box.messages.length === 8);

      const expected = (count: number) => Array.from({ length: count }, (_, i) => BigInt(i + 1));
      assert.deepEqual(sequences(first), expected(20));
      assert.deepEqual(sequences(second), expected(8));
      assert.ok(first.messages.every((message) => message.topic === 'auction.b1'));
      assert.deepEqual([...first.missed, ...second.missed], []);
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    },
  );

  test('duplicates are dropped and a gap is announced', TIMEOUT, async () => {
    const { sender, receiver } = await twoNodes(await fresh());
    const inbox = new Inbox();
    const subscription = await subscribe(receiver, 'auction.c1', inbox);
    const send = (sequence: bigint) =>
      sender.transaction((tx) => publish(tx, 'auction.c1', { sequence, event: 'price', body: 1 }));

    await send(1n);
    await send(1n);
    await send(3n);
    await send(4n);
    await inbox.until((box) => box.messages.length === 3);

    assert.deepEqual(sequences(inbox), [1n, 3n, 4n]);
    assert.deepEqual(inbox.missed, [{ reason: 'gap', expected: 2n, received: 3n }]);
    await subscription.close();
  });

  test('a subscriber that already holds a state skips what it includes', TIMEOUT, async () => {
    const { sender, receiver } = await twoNodes(await fresh());
    const inbox = new Inbox();
    const subscription = await subscribe(receiver, 'auction.c2', inbox, 2n);

    for (let i = 0; i < 3; i += 1) await publishNext(sender, 'auction.c2', i);
    await inbox.until((box) => box.messages.length === 1);

    assert.deepEqual(sequences(inbox), [3n]);
    assert.deepEqual(inbox.missed, []);
    await subscription.close();
  });

  test('a database in another schema does not hear the same topic', TIMEOUT, async () => {
    const { sender, receiver } = await twoNodes(await fresh());
    const other = await (await fresh()).open();
    await withState(other);
    const ours = new Inbox();
    const theirs = new Inbox();
    const subscriptions = [
      await subscribe(receiver, 'auction.d1', ours),
      await subscribe(other, 'auction.d1', theirs),
    ];

    await publishNext(sender, 'auction.d1', 'ours');
    await publishNext(other, 'auction.d1', 'theirs');
    await ours.until((box) => box.messages.length === 1);
    await theirs.until((box) => box.messages.length === 1);

    assert.equal(ours.messages[0]!.body, 'ours');
    assert.equal(theirs.messages[0]!.body, 'theirs');
    assert.notEqual(await liveChannel(receiver, 'x'), await liveChannel(other, 'x'));
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
  });

  test('a message over the NOTIFY limit is refused before it is sent', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const error = await db
      .transaction((tx) =>
        publish(tx, 'auction.e1', { sequence: 1n, event: 'price', body: 'x'.repeat(8_000) }),
      )
      .then(
        () => undefined,
        (refusal: unknown) => refusal,
      );

    assert.ok(isUppError(error));
    assert.equal(error.code, 'live.message_too_large');
  });

  test('topics outside the pattern or over 54 bytes are refused', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const refusals = ['Auction.1', 'auction..1', 'auction 1', '', `a.${'b'.repeat(53)}`];

    for (const topic of refusals) {
      await assert.rejects(
        subscribe(db, topic, new Inbox()),
        (error: unknown) => isUppError(error) && error.code === 'live.bad_topic',
        topic,
      );
    }
    const longest = `a.${'b'.repeat(52)}`;
    const subscription = await subscribe(db, longest, new Inbox());
    await subscription.close();
  });

  if (driver === 'pg') {
    test(
      'after its connection is killed the subscriber is told, then hears again',
      TIMEOUT,
      async () => {
        const { sender, receiver } = await twoNodes(await fresh());
        const inbox = new Inbox();
        const subscription = await subscribe(receiver, 'auction.f1', inbox);
        await publishNext(sender, 'auction.f1', 'before');
        await inbox.until((box) => box.messages.length === 1);

        const killed = await sender.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = $1 AND query = $2`,
          [LISTENER_APPLICATION_NAME, `LISTEN "${await liveChannel(receiver, 'auction.f1')}"`],
        );
        assert.equal(killed.rowCount, 1);
        await inbox.until((box) => box.missed.length === 1);
        await publishNext(sender, 'auction.f1', 'after');
        await inbox.until((box) => box.messages.length === 2);

        assert.deepEqual(inbox.missed, [{ reason: 'reconnected' }]);
        assert.deepEqual(
          inbox.messages.map((message) => [message.sequence, message.body]),
          [
            [1n, 'before'],
            [2n, 'after'],
          ],
        );
        await subscription.close();
      },
    );
  }
});
