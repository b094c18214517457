// Server-Sent Events over live subscriptions, through a real server on port 0 read with fetch:
// events, heartbeats, Last-Event-ID replay, slow clients, and unsubscribing on close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { eventFrame, streamEvents } from '../../src/http/sse.js';
import type { CatchUpReason, EventStream, StreamEvent } from '../../src/http/sse.js';
import { handleError } from '../../src/http/problem.js';
import { liveChannel, publish } from '../../src/services/live.js';
import type { Database } from '../../src/store/database.js';
import { LISTENER_APPLICATION_NAME } from '../../src/store/postgres.js';
import { describeEachDatabase } from '../support/databases.js';

const TIMEOUT = { timeout: 30_000 };

interface Frame {
  id?: string;
  event?: string;
  body?: unknown;
  comment?: string;
  retry?: string;
}

/** Reads a text/event-stream response frame by frame. */
class FrameReader {
  private buffer = '';
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
        return parseFrame(block);
      }
      const chunk = await this.reader.read();
      if (chunk.done) throw new Error('the stream ended');
      this.buffer += this.decoder.decode(chunk.value, { stream: true });
    }
  }

  /** The next frame that is an event, skipping heartbeats. */
  async nextEvent(): Promise<Frame> {
    for (;;) {
      const frame = await this.next();
      if (frame.event !== undefined) return frame;
    }
  }
}

function parseFrame(block: string): Frame {
  const frame: Frame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) frame.comment = line.slice(1).trim();
    else if (line.startsWith('id: ')) frame.id = line.slice(4);
    else if (line.startsWith('event: ')) frame.event = line.slice(7);
    else if (line.startsWith('data: ')) frame.body = JSON.parse(line.slice(6));
    else if (line.startsWith('retry: ')) frame.retry = line.slice(7);
  }
  return frame;
}

interface Server {
  app: FastifyInstance;
  base: string;
  streams: EventStream[];
  reasons: CatchUpReason[];
  behind: number;
}

async function serve(db: Database, options: { heartbeatMs?: number; maxBufferedBytes?: number }) {
  await db.exec(`
    CREATE TABLE live_state (topic text PRIMARY KEY, sequence bigint NOT NULL);
    CREATE TABLE live_event (topic text, sequence bigint, event text NOT NULL, body jsonb,
      PRIMARY KEY (topic, sequence));`);
  const server: Server = {
    // Streams never finish by themselves, so closing must not wait for their connections.
    app: Fastify({ logger: false, forceCloseConnections: true }),
    base: '',
    streams: [],
    reasons: [],
    behind: 0,
  };
  const catchUp = async (topic: string, since: bigint | undefined, reason: CatchUpReason) => {
    server.reasons.push(reason);
    if (since === undefined || reason === 'behind') return snapshot(db, topic);
    const missed = await db.query<{ sequence: bigint; event: string; body: unknown }>(
      `SELECT sequence, event, body FROM live_event WHERE topic = $1 AND sequence > $2
       ORDER BY sequence`,
      [topic, since],
    );
    return missed.rows;
  };
  server.app.setErrorHandler(handleError);
  server.app.get<{ Params: { topic: string } }>(
    '/live/:topic',
    {
      schema: {
        params: {
          type: 'object',
          required: ['topic'],
          properties: { topic: { type: 'string', maxLength: 54 } },
        },
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'string', maxLength: 20 } },
        },
      },
    },
    async (request, reply) => {
      const { topic } = request.params;
      const stream = await streamEvents(request, reply, {
        db,
        topic,
        catchUp: (since, reason) => catchUp(topic, since, reason),
        heartbeatMs: options.heartbeatMs ?? 60_000,
        maxBufferedBytes: options.maxBufferedBytes,
        onBehind: () => {
          server.behind += 1;
        },
      });
      server.streams.push(stream);
      return reply;
    },
  );
  const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
  server.base = address;
  return server;
}

async function snapshot(db: Database, topic: string): Promise<StreamEvent[]> {
  const state = await db.query<{ sequence: bigint }>(
    'SELECT sequence FROM live_state WHERE topic = $1',
    [topic],
  );
  const sequence = state.rows[0]?.sequence;
  return sequence === undefined ? [] : [{ sequence, event: 'snapshot', body: { sequence } }];
}

/** Publishes `count` messages of the topic in one transaction, each logged for replay. */
async function publishNext(db: Database, topic: string, count = 1, padding = ''): Promise<bigint> {
  return db.transaction(async (tx) => {
    let sequence = 0n;
    for (let i = 0; i < count; i += 1) {
      const next = await tx.query<{ sequence: bigint }>(
        `INSERT INTO live_state (topic, sequence) VALUES ($1, 1)
         ON CONFLICT (topic) DO UPDATE SET sequence = live_state.sequence + 1
         RETURNING sequence`,
        [topic],
      );
      sequence = next.rows[0]!.sequence;
      const body = { price: `${1000n - sequence}.00`, padding };
      await tx.query(
        'INSERT INTO live_event (topic, sequence, event, body) VALUES ($1, $2, $3, $4)',
        [topic, sequence, 'price', JSON.stringify(body)],
      );
      await publish(tx, topic, { sequence, event: 'price', body });
    }
    return sequence;
  });
}

async function listening(db: Database, topic: string): Promise<boolean> {
  const channel = await liveChannel(db, topic);
  if (db.driver === 'pglite') {
    const result = await db.query<{ channel: string }>('SELECT pg_listening_channels() AS channel');
    return result.rows.some((row) => row.channel === channel);
  }
  const result = await db.query<{ query: string }>(
    'SELECT query FROM pg_stat_activity WHERE application_name = $1 AND query LIKE $2',
    [LISTENER_APPLICATION_NAME, `%LISTEN "${channel}"`],
  );
  return result.rows.some((row) => row.query.startsWith('LISTEN'));
}

describeEachDatabase('live event streams', (fresh) => {
  test('events arrive as id, event and data lines, unbuffered', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, {});
    const aborter = new AbortController();
    try {
      const response = await fetch(`${server.base}/live/auction.s1`, { signal: aborter.signal });
      const reader = new FrameReader(response);

      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      assert.match(response.headers.get('cache-control') ?? '', /no-cache/);
      assert.equal(response.headers.get('x-accel-buffering'), 'no');
      assert.deepEqual(await reader.next(), { retry: '2000' });
      await publishNext(db, 'auction.s1');
      await publishNext(db, 'auction.s1');
      assert.deepEqual(await reader.nextEvent(), {
        id: '1',
        event: 'price',
        body: { price: '999.00', padding: '' },
      });
      assert.equal((await reader.nextEvent()).id, '2');
      assert.deepEqual(server.reasons, ['connected']);
    } finally {
      aborter.abort();
      await Promise.all(server.streams.map((stream) => stream.closed));
      await server.app.close();
    }
  });

  test('a new client starts from a snapshot of the current state', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, {});
    const aborter = new AbortController();
    try {
      await publishNext(db, 'auction.s2', 3);
      const response = await fetch(`${server.base}/live/auction.s2`, { signal: aborter.signal });
      const reader = new FrameReader(response);

      assert.deepEqual(await reader.nextEvent(), {
        id: '3',
        event: 'snapshot',
        body: { sequence: '3' },
      });
      await publishNext(db, 'auction.s2');
      assert.equal((await reader.nextEvent()).id, '4');
    } finally {
      aborter.abort();
      await Promise.all(server.streams.map((stream) => stream.closed));
      await server.app.close();
    }
  });

  test('a heartbeat comment arrives while nothing happens', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, { heartbeatMs: 30 });
    const aborter = new AbortController();
    try {
      const response = await fetch(`${server.base}/live/auction.s3`, { signal: aborter.signal });
      const reader = new FrameReader(response);

      assert.deepEqual(await reader.next(), { retry: '2000' });
      assert.deepEqual(await reader.next(), { comment: 'heartbeat' });
    } finally {
      aborter.abort();
      await Promise.all(server.streams.map((stream) => stream.closed));
      await server.app.close();
    }
  });

  test('Last-Event-ID replays the events after it, then live ones follow', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, {});
    const aborter = new AbortController();
    try {
      await publishNext(db, 'auction.s4', 5);
      const response = await fetch(`${server.base}/live/auction.s4`, {
        signal: aborter.signal,
        headers: { 'last-event-id': '2' },
      });
      const reader = new FrameReader(response);
      const replayed = [
        await reader.nextEvent(),
        await reader.nextEvent(),
        await reader.nextEvent(),
      ];
      await publishNext(db, 'auction.s4');

      assert.deepEqual(
        replayed.map((frame) => [frame.id, frame.event]),
        [
          ['3', 'price'],
          ['4', 'price'],
          ['5', 'price'],
        ],
      );
      assert.equal((await reader.nextEvent()).id, '6');
      assert.deepEqual(server.reasons, ['replay']);
    } finally {
      aborter.abort();
      await Promise.all(server.streams.map((stream) => stream.closed));
      await server.app.close();
    }
  });

  test('a Last-Event-ID that is no sequence is refused as a problem', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, {});
    try {
      const response = await fetch(`${server.base}/live/auction.s5`, {
        headers: { 'last-event-id': '12a' },
      });
      const problem = (await response.json()) as { code: string };

      assert.equal(response.status, 400);
      assert.equal(problem.code, 'live.bad_last_event_id');
      assert.equal(await listening(db, 'auction.s5'), false);
    } finally {
      await server.app.close();
    }
  });

  test('closing the stream unsubscribes', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, {});
    const aborter = new AbortController();
    const response = await fetch(`${server.base}/live/auction.s6`, { signal: aborter.signal });
    await new FrameReader(response).next();
    const whileOpen = await listening(db, 'auction.s6');

    aborter.abort();
    await Promise.all(server.streams.map((stream) => stream.closed));

    assert.equal(whileOpen, true);
    assert.equal(await listening(db, 'auction.s6'), false);
    await server.app.close();
  });

  test('a client that stops reading is sent a snapshot, not a backlog', TIMEOUT, async () => {
    const db = await (await fresh()).open();
    const server = await serve(db, { maxBufferedBytes: 16 * 1024 });
    const aborter = new AbortController();
    try {
      const response = await fetch(`${server.base}/live/auction.s7`, { signal: aborter.signal });
      const reader = new FrameReader(response);
      await reader.next();

      let published = 0n;
      for (let burst = 0; burst < 60 && server.behind === 0; burst += 1) {
        published = await publishNext(db, 'auction.s7', 100, 'p'.repeat(6_000));
      }
      assert.ok(server.behind >= 1, 'the server never saw the client fall behind');
      published = await publishNext(db, 'auction.s7');
      const frames: Frame[] = [];
      do frames.push(await reader.nextEvent());
      while (frames.at(-1)!.id !== String(published));
      const ids = frames.map((frame) => BigInt(frame.id!));

      assert.ok(frames.some((frame) => frame.event === 'snapshot'));
      assert.ok(frames.length < Number(published), `all ${published} were sent`);
      assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!));
      assert.ok(server.reasons.includes('behind'));
    } finally {
      aborter.abort();
      await Promise.all(server.streams.map((stream) => stream.closed));
      await server.app.close();
    }
  });

  test('an event frame keeps its data on one line', () => {
    const frame = eventFrame({ sequence: 7n, event: 'price', body: { note: 'a\nb', n: 2n } });

    assert.equal(frame, 'id: 7\nevent: price\ndata: {"note":"a\\nb","n":"2"}\n\n');
  });
});
