// Live updates across nodes: a message published inside a transaction leaves at its commit as a
// PostgreSQL NOTIFY and reaches every process that subscribed to its topic through LISTEN.
import { UppError } from '../domain/errors.js';
import type { Database, Queryable } from '../store/database.js';

/** Dot-separated lower-case words, e.g. `auction.7f3c0d2e-...`; ids of aggregates fit. */
export const TOPIC_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/** 63 bytes of a channel name, less the 9 of the schema's prefix (see channelPrefixSql). */
export const TOPIC_MAX_BYTES = 54;

export const EVENT_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
export const PAYLOAD_MAX_BYTES = 7999;

/**
 * Channels are shared by every schema of a database, so each carries a short digest of the
 * current schema: two platforms (or two test suites) in one database never hear each other.
 * It is computed in SQL on both sides so that publisher and subscriber cannot disagree.
 */
const CHANNEL_PREFIX_SQL = `left(md5(current_schema()), 8) || ':'`;

export interface LiveMessage {
  topic: string;
  /** Increases by one per message of the topic; the publisher takes it from its aggregate. */
  sequence: bigint;
  event: string;
  body: unknown;
}

export type Missed =
  | { reason: 'gap'; expected: bigint; received: bigint }
  | { reason: 'reconnected' }
  | { reason: 'malformed' };

export interface LiveListener {
  /** Messages in commit order, each sequence once. */
  onMessage(message: LiveMessage): void;
  /** Messages may have been lost: re-read the state the subscription follows. */
  onMissed(missed: Missed): void;
}

export interface LiveSubscription {
  readonly topic: string;
  /** The highest sequence seen or announced by `advance`; later duplicates are dropped. */
  readonly sequence: bigint | undefined;
  /** Records that the subscriber's state already includes messages up to `sequence`. */
  advance(sequence: bigint): void;
  close(): Promise<void>;
}

export function assertTopic(topic: string): void {
  if (!TOPIC_PATTERN.test(topic) || Buffer.byteLength(topic) > TOPIC_MAX_BYTES) {
    throw new UppError(
      'live.bad_topic',
      400,
      `a topic is dot-separated lower-case words of at most ${TOPIC_MAX_BYTES} bytes`,
    );
  }
}

/**
 * Sends `message` on `topic` when the transaction `tx` commits, and never if it rolls back. The
 * caller increments the topic's sequence in the same transaction (a column of the aggregate),
 * which also orders concurrent publishers through the row lock. Messages stay small: ids,
 * sequence numbers and prices, never documents.
 */
export async function publish(
  tx: Queryable,
  topic: string,
  message: Omit<LiveMessage, 'topic'>,
): Promise<void> {
  assertTopic(topic);
  if (!EVENT_PATTERN.test(message.event)) {
    throw new UppError('live.bad_event', 500, 'an event name is a lower-case word of 64 at most');
  }
  if (message.sequence < 1n) {
    throw new UppError('live.bad_sequence', 500, 'a sequence starts at 1');
  }
  const payload = JSON.stringify({
    sequence: message.sequence.toString(),
    event: message.event,
    body: message.body,
  });
  const bytes = Buffer.byteLength(payload);
  if (bytes > PAYLOAD_MAX_BYTES) {
    throw new UppError(
      'live.message_too_large',
      500,
      `a live message is ${bytes} bytes, more than ${PAYLOAD_MAX_BYTES}; send ids, not documents`,
    );
  }
  await tx.query(`SELECT pg_notify(${CHANNEL_PREFIX_SQL} || $1, $2)`, [topic, payload]);
}

/**
 * Calls `listener` with every message published on `topic` from now on, dropping duplicates and
 * announcing gaps. `after` is the sequence the subscriber's state already includes, when known.
 * Subscribe before reading that state, so nothing committed in between is lost.
 */
export async function subscribe(
  db: Database,
  topic: string,
  listener: LiveListener,
  after?: bigint,
): Promise<LiveSubscription> {
  const channel = await liveChannel(db, topic);
  let last = after;
  const received = (payload: string) => {
    const message = parseMessage(topic, payload);
    if (message === undefined) {
      listener.onMissed({ reason: 'malformed' });
      return;
    }
    if (last !== undefined && message.sequence <= last) return;
    if (last !== undefined && message.sequence > last + 1n) {
      listener.onMissed({ reason: 'gap', expected: last + 1n, received: message.sequence });
    }
    last = message.sequence;
    listener.onMessage(message);
  };
  const unlisten = await db.listen(channel, received, () =>
    listener.onMissed({ reason: 'reconnected' }),
  );
  return {
    topic,
    get sequence() {
      return last;
    },
    advance(sequence) {
      if (last === undefined || sequence > last) last = sequence;
    },
    close: unlisten,
  };
}

/** The PostgreSQL channel that carries `topic` in the database's current schema. */
export async function liveChannel(db: Queryable, topic: string): Promise<string> {
  assertTopic(topic);
  const result = await db.query<{ channel: string }>(
    `SELECT ${CHANNEL_PREFIX_SQL} || $1::text AS channel`,
    [topic],
  );
  return result.rows[0]!.channel;
}

function parseMessage(topic: string, payload: string): LiveMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { sequence, event, body } = parsed as Record<string, unknown>;
  if (typeof sequence !== 'string' || !/^[1-9]\d{0,18}$/.test(sequence)) return undefined;
  if (typeof event !== 'string' || !EVENT_PATTERN.test(event)) return undefined;
  return { topic, sequence: BigInt(sequence), event, body };
}
