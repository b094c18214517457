// Server-Sent Events fed by a live subscription: a route hands its request to streamEvents, which
// answers text/event-stream with the topic's events, heartbeats, replay and back-pressure.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isUppError, UppError } from '../domain/errors.js';
import { subscribe } from '../services/live.js';
import type { LiveMessage, LiveSubscription, Missed } from '../services/live.js';
import type { Database } from '../store/database.js';

export interface StreamEvent {
  sequence: bigint;
  event: string;
  body: unknown;
}

/** Why the client is being brought up to date instead of sent the next message. */
export type CatchUpReason = 'connected' | 'replay' | 'behind' | Missed['reason'];

export interface EventStreamOptions {
  db: Database;
  topic: string;
  /**
   * The events that bring a client whose state includes sequence `since` (undefined: nothing
   * yet) up to date: the events after `since`, or one snapshot of the current state carrying
   * the sequence it includes. Called after subscribing, so nothing committed in between is lost.
   */
  catchUp(since: bigint | undefined, reason: CatchUpReason): Promise<StreamEvent[]>;
  /** A comment line this often keeps proxies and clients from timing the stream out. */
  heartbeatMs?: number;
  /** The reconnection delay the client is told to use. */
  retryMs?: number;
  /** Bytes the socket may hold unsent before the client counts as slow. */
  maxBufferedBytes?: number;
  /** Messages held while a catch-up runs; more turn into another catch-up. */
  maxPending?: number;
  /** Ends the stream, e.g. when the server shuts down. */
  signal?: AbortSignal;
  /** Called when a slow client is switched from messages to a snapshot. */
  onBehind?(): void;
}

export interface EventStream {
  /** Settles once the response is finished and the subscription is closed. */
  readonly closed: Promise<void>;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

const MAX_SEQUENCE = 2n ** 63n - 1n;

/** The sequence a reconnecting client last received, from its Last-Event-ID header. */
export function lastEventId(header: string | string[] | undefined): bigint | undefined {
  if (header === undefined || header === '') return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\d{1,19}$/.test(text) || BigInt(text) > MAX_SEQUENCE) {
    throw new UppError(
      'live.bad_last_event_id',
      400,
      'Last-Event-ID must be the sequence of the last event received',
    );
  }
  return BigInt(text);
}

export function eventFrame(event: StreamEvent): string {
  const body = JSON.stringify(event.body, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  return `id: ${event.sequence}\nevent: ${event.event}\ndata: ${body ?? 'null'}\n\n`;
}

/**
 * Subscribes, then takes over the reply and streams until the client goes away. Refusals that
 * come before the stream starts (a bad Last-Event-ID, a bad topic, no database) are thrown, so
 * the route answers them as problem+json.
 */
export async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  options: EventStreamOptions,
): Promise<EventStream> {
  const since = lastEventId(request.headers['last-event-id']);
  const stream = new TopicStream(request, reply, options, since);
  let subscription: LiveSubscription;
  try {
    subscription = await subscribe(options.db, options.topic, stream, since);
  } catch (error) {
    if (isUppError(error)) throw error;
    request.log.error({ err: error, topic: options.topic }, 'live.subscribe_failed');
    throw new UppError('live.unavailable', 503, 'live updates are unavailable, try again');
  }
  stream.start(subscription);
  return stream;
}

class TopicStream implements EventStream {
  readonly closed: Promise<void>;
  private subscription: LiveSubscription | undefined;
  private lastSent: bigint | undefined;
  private pending: LiveMessage[] = [];
  private catchingUp = false;
  private queuedReason: CatchUpReason | undefined;
  private behind = false;
  private ended = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private settle: () => void = () => undefined;

  constructor(
    private readonly request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly options: EventStreamOptions,
    since: bigint | undefined,
  ) {
    this.lastSent = since;
    this.closed = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  start(subscription: LiveSubscription): void {
    this.subscription = subscription;
    const raw = this.reply.raw;
    this.reply.hijack();
    const connection = this.request.raw.httpVersionMajor === 1 ? { connection: 'keep-alive' } : {};
    // Headers that hooks set before the takeover (request id, CORS, security) are kept.
    for (const [name, value] of Object.entries(this.reply.getHeaders())) {
      if (value !== undefined) raw.setHeader(name, value);
    }
    raw.writeHead(200, { ...SSE_HEADERS, ...connection });
    raw.write(`retry: ${this.options.retryMs ?? 2_000}\n\n`);
    raw.on('close', () => void this.finish());
    if (this.request.raw.socket?.destroyed === true) void this.finish();
    this.options.signal?.addEventListener('abort', () => raw.end(), { once: true });
    if (this.options.signal?.aborted === true) raw.end();
    this.heartbeat = setInterval(() => {
      if (!this.behind) raw.write(': heartbeat\n\n');
    }, this.options.heartbeatMs ?? 15_000);
    this.catchUp(this.lastSent === undefined ? 'connected' : 'replay');
  }

  onMessage(message: LiveMessage): void {
    if (this.ended || this.behind) return;
    if (!this.catchingUp) {
      this.forward(message);
      return;
    }
    this.pending.push(message);
    if (this.pending.length > (this.options.maxPending ?? 1_000)) {
      this.pending = [];
      this.queuedReason = 'behind';
    }
  }

  onMissed(missed: Missed): void {
    this.catchUp(missed.reason);
  }

  /** A live message goes out only when it follows the last one sent. */
  private forward(message: LiveMessage): void {
    if (this.lastSent !== undefined && message.sequence <= this.lastSent) return;
    if (this.lastSent !== undefined && message.sequence > this.lastSent + 1n) {
      this.catchUp('gap');
      return;
    }
    this.send(message);
  }

  private send(event: StreamEvent): void {
    const raw = this.reply.raw;
    const flushed = raw.write(eventFrame(event));
    if (this.lastSent === undefined || event.sequence > this.lastSent) {
      this.lastSent = event.sequence;
    }
    if (flushed || raw.writableLength < (this.options.maxBufferedBytes ?? 256 * 1024)) return;
    // Instead of queueing without bound for a client that does not read, stop and send it a
    // fresh catch-up once the socket has drained.
    this.behind = true;
    this.pending = [];
    this.queuedReason = undefined;
    this.request.log.warn({ topic: this.options.topic }, 'live.stream_behind');
    this.options.onBehind?.();
    raw.once('drain', () => {
      this.behind = false;
      this.catchUp('behind');
    });
  }

  private catchUp(reason: CatchUpReason): void {
    if (this.ended || this.behind) return;
    if (this.catchingUp) {
      this.queuedReason ??= reason;
      return;
    }
    this.catchingUp = true;
    void this.runCatchUp(reason);
  }

  private async runCatchUp(first: CatchUpReason): Promise<void> {
    let reason: CatchUpReason | undefined = first;
    while (reason !== undefined && !this.ended && !this.behind) {
      let events: StreamEvent[];
      try {
        events = await this.options.catchUp(this.lastSent, reason);
      } catch (error) {
        // The client reconnects with its Last-Event-ID and gets a fresh try.
        this.request.log.error({ err: error, topic: this.options.topic }, 'live.catch_up_failed');
        this.reply.raw.end();
        return;
      }
      for (const event of events) {
        if (this.ended || this.behind) break;
        if (this.lastSent === undefined || event.sequence > this.lastSent) this.send(event);
      }
      if (this.lastSent !== undefined) this.subscription?.advance(this.lastSent);
      reason = this.queuedReason;
      this.queuedReason = undefined;
    }
    this.catchingUp = false;
    const held = this.pending;
    this.pending = [];
    for (const message of held) this.onMessage(message);
  }

  private async finish(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.pending = [];
    await this.subscription?.close().catch((error: unknown) => {
      this.request.log.warn({ err: error, topic: this.options.topic }, 'live.unsubscribe_failed');
    });
    this.settle();
  }
}
