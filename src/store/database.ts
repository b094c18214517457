// The one database interface of the platform, with two drivers that run the same SQL:
// PGlite embedded in the process, or a PostgreSQL server through a `pg` pool.

export type Row = Record<string, unknown>;

export interface QueryResult<R extends object = Row> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Keep the statement prepared on each server connection, so it is parsed and planned once per
   * connection, not every time: for statements of fixed text that a hot path runs often.
   */
  prepared?: boolean;
}

export interface Queryable {
  /** One parameterised statement ($1, $2, ...). */
  query<R extends object = Row>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly driver: 'pglite' | 'pg';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `onPayload` with every NOTIFY payload sent on `channel` (an exact channel name matching
   * CHANNEL_PATTERN) until the returned function is called. `onResumed` is called after the
   * connection holding the LISTEN was lost and is back: payloads sent meanwhile are gone, so the
   * listener re-reads the state it follows.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onResumed?: () => void,
  ): Promise<Unlisten>;
  close(): Promise<void>;
}

export type Unlisten = () => Promise<void>;

/** Channel names both drivers accept: PostgreSQL identifiers are at most 63 bytes. */
export const CHANNEL_PATTERN = /^[a-z0-9_.:-]{1,63}$/;

/** The channel as a quoted identifier for LISTEN and UNLISTEN, which take no parameters. */
export function quoteChannel(channel: string): string {
  if (!CHANNEL_PATTERN.test(channel)) throw new Error(`unsafe channel name: ${channel}`);
  return `"${channel}"`;
}

/** Type parsers both drivers share: int8 as bigint (money in tiyn), date and numeric as text. */
export const TYPE_PARSERS: Record<number, (value: string) => unknown> = {
  20: (value) => BigInt(value),
  1082: (value) => value,
  1700: (value) => value,
};
