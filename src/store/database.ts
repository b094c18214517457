// The one database interface of the platform, with two drivers that run the same SQL:
// PGlite embedded in the process, or a PostgreSQL server through a `pg` pool.

export type Row = Record<string, unknown>;

export interface QueryResult<R extends object = Row> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** One parameterised statement ($1, $2, ...). */
  query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly driver: 'pglite' | 'pg';
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Type parsers both drivers share: int8 as bigint (money in tiyn), date and numeric as text. */
export const TYPE_PARSERS: Record<number, (value: string) => unknown> = {
  20: (value) => BigInt(value),
  1082: (value) => value,
  1700: (value) => value,
};
