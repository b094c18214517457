// Configuration from environment variables, validated once at start. A wrong value stops the
// process with a message that names the variable and what it accepts.
import { resolve } from 'node:path';

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolSize: number;
  workers: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimitBytes: number;
  corsOrigins: string[];
  trustProxy: boolean;
  rateLimitAnonymousPerMinute: number;
  calendarDir: string | undefined;
  publicBaseUrl: string;
  metricsToken: string | undefined;
  uploadMaxBytes: number;
  uploadExpiryHours: number;
  blobStore: 'fs' | 's3';
  s3Endpoint: string | undefined;
  s3Bucket: string | undefined;
  s3Region: string;
  s3AccessKeyId: string | undefined;
  s3SecretAccessKey: string | undefined;
  ocdsPrefix: string;
  chronographIntervalMs: number;
  demoData: 'auto' | 'on' | 'off';
  sealingKeyFile: string | undefined;
  auctionStepBasisPoints: number;
  auctionMinutes: number;
  auctionExtensionMinutes: number;
  unreliableMonths: number;
  searchIndex: 'memory' | 'database';
  searchIndexStaleMs: number;
}

export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, accepts: string, value: string) {
    super(`${variable}=${JSON.stringify(value)} is not accepted: ${variable} takes ${accepts}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

interface Variable<T> {
  name: string;
  accepts: string;
  fallback: T;
  parse: (raw: string) => T | undefined;
  description: string;
}

function integer(min: number, max: number) {
  return (raw: string): number | undefined => {
    if (!/^\d+$/.test(raw)) return undefined;
    const value = Number(raw);
    return value >= min && value <= max ? value : undefined;
  };
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T | undefined => values.find((value) => value === raw);
}

function flag(raw: string): boolean | undefined {
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  return undefined;
}

function postgresUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:' ? raw : undefined;
  } catch {
    return undefined;
  }
}

function httpUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:'
      ? raw.replace(/\/+$/, '')
      : undefined;
  } catch {
    return undefined;
  }
}

function origins(raw: string): string[] | undefined {
  const list = raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  const valid = list.every((item) => item === '*' || httpUrl(item) === item);
  return valid ? list : undefined;
}

function nonEmpty(raw: string): string | undefined {
  return raw.trim().length > 0 ? raw : undefined;
}

const NODE_ENVS = ['development', 'production', 'test'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Every variable the platform reads; the README's configuration table lists the same. */
export const VARIABLES = {
  nodeEnv: {
    name: 'NODE_ENV',
    accepts: NODE_ENVS.join(', '),
    fallback: 'development',
    parse: oneOf(NODE_ENVS),
    description: 'production refuses demo trust and demo data, and sends HSTS',
  },
  host: {
    name: 'HOST',
    accepts: 'a host name or IP address to listen on',
    fallback: '127.0.0.1',
    parse: nonEmpty,
    description: 'address the HTTP server listens on',
  },
  port: {
    name: 'PORT',
    accepts: 'an integer from 0 to 65535',
    fallback: 8080,
    parse: integer(0, 65535),
    description: 'HTTP port (0 picks a free one)',
  },
  dataDir: {
    name: 'UPP_DATA_DIR',
    accepts: 'a directory path',
    fallback: './var',
    parse: nonEmpty,
    description: 'embedded database, blobs and keys live here',
  },
  databaseUrl: {
    name: 'DATABASE_URL',
    accepts: 'a postgres:// or postgresql:// URL',
    fallback: undefined,
    parse: postgresUrl,
    description: 'PostgreSQL server; unset means embedded PGlite under UPP_DATA_DIR',
  },
  databasePoolSize: {
    name: 'UPP_DB_POOL_SIZE',
    accepts: 'an integer from 1 to 200',
    fallback: 10,
    parse: integer(1, 200),
    description: 'connections to the PostgreSQL server per process',
  },
  workers: {
    name: 'UPP_WORKERS',
    accepts: 'an integer from 1 to 64 (more than 1 only with DATABASE_URL)',
    fallback: 1,
    parse: integer(1, 64),
    description: 'server processes of this node sharing its port, one per core',
  },
  logLevel: {
    name: 'LOG_LEVEL',
    accepts: LOG_LEVELS.join(', '),
    fallback: 'info',
    parse: oneOf(LOG_LEVELS),
    description: 'pino log level',
  },
  bodyLimitBytes: {
    name: 'UPP_BODY_LIMIT',
    accepts: 'an integer number of bytes from 1024 to 104857600',
    fallback: 1_048_576,
    parse: integer(1024, 104_857_600),
    description: 'largest JSON request body',
  },
  corsOrigins: {
    name: 'UPP_CORS_ORIGINS',
    accepts: 'a comma-separated list of http(s) origins, or *',
    fallback: [] as string[],
    parse: origins,
    description: 'origins allowed by CORS; empty means CORS is off',
  },
  trustProxy: {
    name: 'UPP_TRUST_PROXY',
    accepts: 'true or false',
    fallback: false,
    parse: flag,
    description: 'trust X-Forwarded-For from a load balancer',
  },
  rateLimitAnonymousPerMinute: {
    name: 'UPP_RATE_LIMIT_ANON',
    accepts: 'an integer from 1 to 1000000 (requests per minute per client address)',
    fallback: 600,
    parse: integer(1, 1_000_000),
    description: 'rate limit for clients without a session',
  },
  calendarDir: {
    name: 'UPP_CALENDAR_DIR',
    accepts: 'a directory of <year>.json working-day calendar files',
    fallback: undefined,
    parse: nonEmpty,
    description: 'extra or corrected years of the working-day calendar',
  },
  publicBaseUrl: {
    name: 'UPP_PUBLIC_URL',
    accepts: 'an http(s) URL',
    fallback: '',
    parse: httpUrl,
    description: 'the address users reach the platform at (default http://HOST:PORT)',
  },
  metricsToken: {
    name: 'UPP_METRICS_TOKEN',
    accepts: 'a token of 16 to 256 visible ASCII characters',
    fallback: undefined,
    parse: (raw: string) => (/^[\x21-\x7e]{16,256}$/.test(raw) ? raw : undefined),
    description: 'when set, GET /metrics requires "Authorization: Bearer <token>"',
  },
  uploadMaxBytes: {
    name: 'UPP_UPLOAD_MAX_BYTES',
    accepts: 'an integer number of bytes from 1 to 1099511627776',
    fallback: 2_147_483_648,
    parse: integer(1, 1_099_511_627_776),
    description: 'largest file one upload may carry (larger: 413 upload.too_large)',
  },
  uploadExpiryHours: {
    name: 'UPP_UPLOAD_EXPIRY_HOURS',
    accepts: 'an integer from 1 to 720',
    fallback: 24,
    parse: integer(1, 720),
    description: 'hours an unfinished upload may be resumed before its bytes are deleted',
  },
  blobStore: {
    name: 'UPP_BLOB_STORE',
    accepts: 'fs or s3',
    fallback: 'fs',
    parse: oneOf(['fs', 's3'] as const),
    description: 'where file bytes live: UPP_DATA_DIR/blobs, or an S3-compatible bucket',
  },
  s3Endpoint: {
    name: 'UPP_S3_ENDPOINT',
    accepts: 'an http(s) URL',
    fallback: undefined,
    parse: httpUrl,
    description: 'the S3-compatible service (path-style requests), with UPP_BLOB_STORE=s3',
  },
  s3Bucket: {
    name: 'UPP_S3_BUCKET',
    accepts: 'a bucket name of 3 to 63 lowercase letters, digits, dots and hyphens',
    fallback: undefined,
    parse: (raw: string) => (/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw) ? raw : undefined),
    description: 'the bucket blobs are stored in',
  },
  s3Region: {
    name: 'UPP_S3_REGION',
    accepts: 'a region name such as us-east-1',
    fallback: 'us-east-1',
    parse: (raw: string) => (/^[a-z0-9-]{1,64}$/.test(raw) ? raw : undefined),
    description: 'the region requests are signed for',
  },
  s3AccessKeyId: {
    name: 'UPP_S3_ACCESS_KEY_ID',
    accepts: 'an access key id',
    fallback: undefined,
    parse: nonEmpty,
    description: 'the access key id for the bucket',
  },
  s3SecretAccessKey: {
    name: 'UPP_S3_SECRET_ACCESS_KEY',
    accepts: 'a secret access key',
    fallback: undefined,
    parse: nonEmpty,
    description: 'the secret key for the bucket; never logged',
  },
  ocdsPrefix: {
    name: 'UPP_OCDS_PREFIX',
    accepts: 'ocds- followed by 6 letters or digits',
    fallback: 'ocds-upp001',
    parse: (raw: string) => (/^ocds-[a-z0-9]{6}$/.test(raw) ? raw : undefined),
    description: 'the ocid prefix of the open data (register one with OCP for production)',
  },
  chronographIntervalMs: {
    name: 'UPP_CHRONOGRAPH_INTERVAL_MS',
    accepts: 'an integer from 0 to 3600000 (0 turns the chronograph off on this node)',
    fallback: 1000,
    parse: integer(0, 3_600_000),
    description: 'how often this node claims procurements whose next check is due',
  },
  demoData: {
    name: 'UPP_DEMO_DATA',
    accepts: 'auto, on or off',
    fallback: 'auto',
    parse: oneOf(['auto', 'on', 'off'] as const),
    description: 'demo procurements in an empty database; auto: embedded and not production',
  },
  sealingKeyFile: {
    name: 'UPP_SEALING_KEY_FILE',
    accepts: 'a file path',
    fallback: undefined,
    parse: nonEmpty,
    description: 'the 32-byte key that wraps procurement keys (default UPP_DATA_DIR/keys/...)',
  },
  searchIndex: {
    name: 'UPP_SEARCH_INDEX',
    accepts: 'memory or database',
    fallback: 'memory',
    parse: oneOf(['memory', 'database'] as const),
    description: 'memory: each node answers lot searches from its own index of the public lots',
  },
  searchIndexStaleMs: {
    name: 'UPP_SEARCH_INDEX_STALE_MS',
    accepts: 'an integer from 0 to 60000',
    fallback: 250,
    parse: integer(0, 60_000),
    description: 'the longest a lot search may answer before the index reads newer changes',
  },
  auctionStepBasisPoints: {
    name: 'UPP_AUCTION_STEP_BP',
    accepts: 'an integer from 1 to 5000 (basis points: 50 = 0.5%)',
    fallback: 50,
    parse: integer(1, 5000),
    description: 'how far below the best price an auction bid must go',
  },
  auctionMinutes: {
    name: 'UPP_AUCTION_MINUTES',
    accepts: 'an integer from 1 to 1440',
    fallback: 20,
    parse: integer(1, 1440),
    description: 'the length of an auction session',
  },
  auctionExtensionMinutes: {
    name: 'UPP_AUCTION_EXTENSION_MINUTES',
    accepts: 'an integer from 0 to 60',
    fallback: 2,
    parse: integer(0, 60),
    description: 'a bid this close to the end extends it so that this long is left',
  },
  unreliableMonths: {
    name: 'UPP_UNRELIABLE_MONTHS',
    accepts: 'an integer from 1 to 120',
    fallback: 24,
    parse: integer(1, 120),
    description: 'how long a winner who evaded a contract stays in the unreliable register',
  },
} satisfies { [K in keyof Config]: Variable<Config[K]> };

function read<T>(env: Env, variable: Variable<T>): T {
  const raw = env[variable.name];
  if (raw === undefined || raw === '') return variable.fallback;
  const value = variable.parse(raw);
  if (value === undefined) throw new ConfigError(variable.name, variable.accepts, raw);
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const config = Object.fromEntries(
    Object.entries(VARIABLES).map(([key, variable]) => [
      key,
      read(env, variable as Variable<unknown>),
    ]),
  ) as unknown as Config;
  config.dataDir = resolve(config.dataDir);
  if (config.publicBaseUrl === '') {
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    config.publicBaseUrl = `http://${host}:${config.port}`;
  }
  return config;
}
