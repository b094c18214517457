// Server driver: a `pg` connection pool to PostgreSQL, for tests and production.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Database, QueryOptions, Queryable, Unlisten } from './database.js';
import { quoteChannel, TYPE_PARSERS } from './database.js';
import { UppError } from '../domain/errors.js';

export interface PostgresOptions {
  url: string;
  poolSize?: number;
  /** Schema to work in (tests isolate themselves this way). */
  schema?: string;
  /** Delays between attempts to re-connect the listening connection after it was lost. */
  listenBackoff?: Backoff;
  /** How long a query waits for a free connection before the platform answers busy. */
  connectTimeoutMs?: number;
}

export interface Backoff {
  firstMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: Backoff = { firstMs: 100, maxMs: 5_000 };

/** The name the listening connection shows in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'upp-listen';

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const parser = TYPE_PARSERS[oid];
    if (parser !== undefined && format !== 'binary') return parser;
    return pg.types.getTypeParser(oid, format);
  },
};

/** The pool had no connection free within its timeout: the platform is overloaded, not broken. */
function busyOr(error: unknown): unknown {
  const message = error instanceof Error ? error.message : '';
  if (!message.includes('timeout exceeded when trying to connect')) return error;
  return new UppError('database.busy', 503, 'the platform is busy; try again in a few seconds', {
    retryAfterSeconds: 2,
  });
}

/** A prepared statement's name: the same text gets the same name on every connection. */
const statementNames = new Map<string, string>();

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `upp_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R extends object>(
      sql: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ) {
      const statement = {
        text: sql,
        values: params as unknown[],
        ...(options.prepared === true ? { name: statementName(sql) } : {}),
      };
      const result = await client.query<R>(statement).catch((error: unknown) => {
        throw busyOr(error);
      });
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string) {
      await client.query(sql);
    },
  };
}

export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const schemaOption =
    options.schema === undefined ? undefined : `-c search_path=${quoteIdent(options.schema)}`;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    types,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    ...(schemaOption === undefined ? {} : { options: schemaOption }),
  });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it on the next checkout.
  });
  const direct = wrap(pool);
  await direct.query('SELECT 1');
  const listeners = new ChannelListeners(
    { connectionString: options.url, types, connectionTimeoutMillis: 10_000, keepAlive: true },
    options.listenBackoff ?? DEFAULT_BACKOFF,
  );
  return {
    driver: 'pg',
    query: direct.query,
    exec: direct.exec,
    async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect().catch((error: unknown) => {
        throw busyOr(error);
      });
      try {
        await client.query('BEGIN');
        const result = await work(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    listen: (channel, onPayload, onResumed) => listeners.listen(channel, onPayload, onResumed),
    async close() {
      await listeners.close();
      await pool.end();
    },
  };
}

interface Listener {
  onPayload(payload: string): void;
  onResumed: (() => void) | undefined;
}

/**
 * All LISTENs of one process on one dedicated connection, outside the pool because a pooled
 * connection is handed to other work between queries. When that connection is lost it is
 * re-opened with exponential backoff, every channel is listened to again, and each listener is
 * told that payloads may have been missed.
 */
class ChannelListeners {
  private readonly channels = new Map<string, Set<Listener>>();
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private attempts = 0;
  private interrupted = false;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly backoff: Backoff,
  ) {}

  async listen(
    channel: string,
    onPayload: (payload: string) => void,
    onResumed: (() => void) | undefined,
  ): Promise<Unlisten> {
    const statement = `LISTEN ${quoteChannel(channel)}`;
    if (this.closed) throw new Error('database is closed');
    const listener: Listener = { onPayload, onResumed };
    const known = this.channels.get(channel);
    if (known !== undefined) known.add(listener);
    else this.channels.set(channel, new Set([listener]));
    try {
      const client = this.client ?? (await this.connect());
      if (known === undefined) await client.query(statement);
    } catch (error) {
      this.remove(channel, listener);
      throw error;
    }
    return async () => {
      const emptied = this.remove(channel, listener);
      if (emptied && this.client !== undefined) {
        await this.client.query(`UNLISTEN ${quoteChannel(channel)}`).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Removes a listener; true when its channel has no listener left. */
  private remove(channel: string, listener: Listener): boolean {
    const listeners = this.channels.get(channel);
    if (listeners === undefined || !listeners.delete(listener)) return false;
    if (listeners.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  private connect(): Promise<pg.Client> {
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({ ...this.config, application_name: LISTENER_APPLICATION_NAME });
    client.on('notification', (notification) => {
      this.deliver(notification.channel, notification.payload ?? '');
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.channels.keys()) {
        await client.query(`LISTEN ${quoteChannel(channel)}`);
      }
      if (this.closed) throw new Error('database is closed');
    } catch (error) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    if (this.interrupted) this.resumed();
    return client;
  }

  private deliver(channel: string, payload: string): void {
    for (const listener of this.channels.get(channel) ?? []) {
      try {
        listener.onPayload(payload);
      } catch {
        // A listener's failure is its own; the others still get the payload.
      }
    }
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('notification');
    if (this.closed || this.channels.size === 0) return;
    this.interrupted = true;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = Math.min(this.backoff.maxMs, this.backoff.firstMs * 2 ** this.attempts);
    this.attempts += 1;
    clearTimeout(this.retry);
    // Jitter keeps the nodes of a cluster from all knocking at the same instant after a restart.
    this.retry = setTimeout(() => void this.reconnect(), delay * (0.5 + Math.random() / 2));
    this.retry.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.closed || this.client !== undefined) return;
    try {
      await this.connect();
    } catch {
      if (!this.closed) this.scheduleReconnect();
    }
  }

  /** Whoever re-opened the connection, every listener learns that payloads may be missing. */
  private resumed(): void {
    this.interrupted = false;
    this.attempts = 0;
    clearTimeout(this.retry);
    for (const listeners of this.channels.values()) {
      for (const listener of listeners) {
        try {
          listener.onResumed?.();
        } catch {
          // As in deliver: one listener's failure does not keep the others uninformed.
        }
      }
    }
  }
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe identifier: ${name}`);
  return `"${name}"`;
}
