// The `upp` command line: one entry per command, each returning the process exit code.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { isUppError } from '../domain/errors.js';
import { linkAudit, verifyAudit } from '../services/audit.js';
import { grantAdministrator } from '../services/participants.js';
import { systemClock } from '../domain/time.js';
import { migrate } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';
import { pkiCommand, signCommand, verifyCommand } from './pki.js';
import { serve } from './serve.js';

type Command = (args: string[]) => Promise<number>;

const USAGE = `usage: upp <command> [options]

commands:
  serve                      run the platform (HTTP API, portal, background jobs)
  migrate                    apply database migrations and exit
  audit verify [--count N --hash H]
                             walk the audit-log hash chain; with a published checkpoint,
                             also prove the chain still contains it
  verify FILE... [--data FILE] [--at ISO-8601] [--trust DIR] [--crl FILE]... [--ocsp FILE]...
         [--revocation ocsp,crl|none] [--json]
                             check CMS, XML, certificates, CRLs, OCSP responses, time-stamps
  sign --p12 FILE --password P --data FILE [--detached] [--out FILE]
                             sign a file; DER CMS to stdout or --out
  pki demo-ca | issue ... | revoke SERIAL | list
                             the demo PKI (refused when NODE_ENV=production)
  admin grant --iin IIN --name NAME
                             make a person an administrator of the authorized body
  help                       this text

Configuration comes from environment variables; see the README.`;

const COMMANDS: Record<string, Command> = {
  serve: async () => serve(loadConfig()),
  migrate: async () => {
    const db = await openDatabase(loadConfig());
    try {
      const outcome = await migrate(db);
      const applied = outcome.applied.length === 0 ? 'none' : outcome.applied.join(', ');
      console.log(`migrations applied: ${applied}; database at migration ${outcome.current}`);
      return 0;
    } finally {
      await db.close();
    }
  },
  audit: auditCommand,
  admin: adminCommand,
  verify: verifyCommand,
  sign: signCommand,
  pki: pkiCommand,
  help: async () => {
    console.log(USAGE);
    return 0;
  },
};

async function auditCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { count: { type: 'string' }, hash: { type: 'string' } },
  });
  if (positionals[0] !== 'verify') {
    console.error('usage: upp audit verify [--count N --hash H]');
    return 2;
  }
  const checkpoint = readCheckpoint(values.count, values.hash);
  const db = await openDatabase(loadConfig());
  try {
    await linkAudit(db, true);
    const result = await verifyAudit(db, checkpoint);
    if (result.ok) {
      console.log(`audit log intact: ${result.count} entries, last hash ${result.hash}`);
      return 0;
    }
    console.error(`audit log broken at entry ${result.brokenAt}: ${result.reason}`);
    return 1;
  } finally {
    await db.close();
  }
}

async function adminCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { iin: { type: 'string' }, name: { type: 'string' } },
  });
  if (positionals[0] !== 'grant' || values.iin === undefined || values.name === undefined) {
    console.error('usage: upp admin grant --iin IIN --name NAME');
    return 2;
  }
  const db = await openDatabase(loadConfig());
  try {
    await migrate(db);
    await grantAdministrator(db, systemClock, values.iin, values.name);
    console.log(`administrator granted to IIN ${values.iin}`);
    return 0;
  } finally {
    await db.close();
  }
}

function readCheckpoint(count: string | undefined, hash: string | undefined) {
  if (count === undefined && hash === undefined) return undefined;
  if (count === undefined || !/^\d+$/.test(count) || hash === undefined) {
    throw new ConfigError('--count/--hash', 'a whole number and a 64-digit hex hash', count ?? '');
  }
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new ConfigError('--hash', 'a 64-digit lowercase hex SHA-256', hash);
  }
  return { count: Number(count), hash };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === 'version') {
    console.log(version());
    return 0;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }
  try {
    return await command(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`upp: configuration: ${error.message}`);
      return 78;
    }
    if (isUppError(error)) {
      console.error(`upp: ${error.code}: ${error.message}`);
      return 1;
    }
    if (
      error instanceof TypeError &&
      'code' in error &&
      String(error.code).startsWith('ERR_PARSE')
    ) {
      console.error(`upp: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
