// `upp verify`, `upp sign` and `upp pki`: signature checks of files, CMS signing with a key
// store, and the demo PKI (CA, issuance, revocation). Exit codes: 0 done/valid, 1 refused or
// invalid, 2 wrong usage.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/index.js';
import { systemClock } from '../domain/time.js';
import { signCms } from '../pki/cms-sign.js';
import {
  DEMO_ALGORITHMS,
  DEMO_PATHS,
  issueCertificate,
  issuedCertificates,
  revokeCertificate,
  revokedCertificates,
} from '../pki/demo-ca.js';
import type { DemoAlgorithm, DemoCa, DemoRole } from '../pki/demo-ca.js';
import { REVOCATION_REASONS } from '../pki/crl.js';
import type { RevocationReason } from '../pki/crl.js';
import { PkiError } from '../pki/errors.js';
import { MAX_PKCS12_BYTES, openPkcs12 } from '../pki/pkcs12.js';
import type { RevocationSource } from '../pki/revocation.js';
import { loadTrustStore } from '../pki/trust.js';
import type { TrustStore } from '../pki/trust.js';
import { MAX_VERIFY_FILE_BYTES, verifyFiles } from '../pki/verify.js';
import type { SignerReport, VerificationReport } from '../pki/verify.js';
import {
  loadPlatformTrust,
  openDemoCa,
  pkiSettingsFromEnv,
  revocationCheck,
} from '../services/pki.js';
import type { PkiSettings } from '../services/pki.js';

/** Exit codes of these commands. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const VERIFY_USAGE = `usage: upp verify FILE... [--data FILE] [--at ISO-8601] [--trust DIR]
                  [--crl FILE]... [--ocsp FILE]... [--revocation ocsp,crl|none] [--json]`;
export const SIGN_USAGE =
  'usage: upp sign --p12 FILE --password P --data FILE [--detached] [--out FILE]';
export const PKI_USAGE = `usage: upp pki demo-ca
       upp pki issue --role ROLE --iin IIN [--bin BIN --org NAME] --purpose sign|auth
                     --alg rsa|gost2015 --out FILE.p12 --password P
                     [--surname S --first-name F --patronymic P --days N]
       upp pki revoke SERIAL [--reason REASON] [--at ISO-8601]
       upp pki list`;

/** A refusal with a stable code and the exit code it ends the command with. */
class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  usage: string,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CommandError('usage', `${(error as Error).message}\n${usage}`);
  }
}

/** Runs a command body, turning refusals into a message on stderr and an exit code. */
async function run(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CommandError) {
      console.error(
        error.code === 'usage' ? error.message : `upp: ${error.code}: ${error.message}`,
      );
      return error.exitCode;
    }
    if (error instanceof PkiError) {
      console.error(`upp: ${error.code}: ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  }
}

function readInput(path: string, limit: number, what: string): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CommandError(
      'input.unreadable',
      `cannot read ${what} ${path}: ${(error as Error).message}`,
      EXIT.failed,
    );
  }
  if (bytes.length > limit) {
    throw new CommandError('input.too_large', `${what} ${path} is larger than ${limit} bytes`);
  }
  return new Uint8Array(bytes);
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function instant(raw: string | undefined, option: string): Date | undefined {
  if (raw === undefined) return undefined;
  const value = ISO_INSTANT.test(raw) ? new Date(raw) : new Date(Number.NaN);
  if (Number.isNaN(value.getTime())) {
    throw new CommandError(
      'usage',
      `${option} takes an ISO-8601 instant such as 2022-09-28T00:00:00Z, not ${raw}`,
    );
  }
  return value;
}

function revocationOption(raw: string | undefined): RevocationSource[] | 'none' | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'none') return 'none';
  const sources = raw.split(',').map((s) => s.trim());
  const valid =
    sources.length > 0 &&
    sources.every((s) => s === 'ocsp' || s === 'crl') &&
    new Set(sources).size === sources.length;
  if (!valid) throw new CommandError('usage', `--revocation takes ocsp,crl, ocsp, crl or none`);
  return sources as RevocationSource[];
}

function settingsFromEnvironment(): PkiSettings {
  const config = loadConfig();
  return pkiSettingsFromEnv(process.env, config);
}

function customTrust(dir: string): TrustStore {
  try {
    return loadTrustStore(dir, 'custom');
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    throw new CommandError(error.code, `--trust ${dir}: ${error.message}`);
  }
}

function describeSigner(signer: SignerReport, index: number): string[] {
  const c = signer.certificate;
  const who = c
    ? [
        c.subject.commonName ?? '(no name)',
        c.subject.iin ? `IIN ${c.subject.iin}` : undefined,
        c.subject.bin ? `BIN ${c.subject.bin}` : undefined,
        c.subject.organization ?? undefined,
      ]
        .filter(Boolean)
        .join(', ')
    : '(certificate not found)';
  const ok = (flag: boolean) => (flag ? 'ok' : 'FAILED');
  const chain = signer.chain.trusted
    ? `trusted, anchor ${signer.chain.anchor ?? '?'}`
    : 'NOT trusted';
  const lines = [
    `  signer ${index + 1}: ${who}`,
    c ? `    key: ${c.algorithm}, ${c.keyPurpose}; roles: ${c.roles.join(', ') || 'none'}` : '',
    c ? `    certificate ${c.serial}, valid ${c.notBefore} to ${c.notAfter}` : '',
    `    signature ${ok(signer.signatureValid)}; time ${ok(signer.timeValid)}` +
      (signer.signingTime ? ` (signed ${signer.signingTime})` : ''),
    signer.timestamp
      ? `    time-stamp ${signer.timestamp.time} ${signer.timestamp.valid ? 'ok' : 'FAILED'}`
      : '',
    `    chain ${chain}`,
    `    revocation ${signer.revocation.status} (${signer.revocation.source})` +
      (signer.revocation.revokedAt ? `, revoked ${signer.revocation.revokedAt}` : ''),
    ...signer.errors.map((e) => `    ! ${e.code}: ${e.message}`),
  ];
  return lines.filter((line) => line !== '');
}

/** The readable summary of one file's report. */
export function describeReport(report: VerificationReport): string {
  const count = report.signers.length;
  const head =
    `${report.file ?? '(input)'}: ${report.valid ? 'VALID' : 'NOT VALID'} ` +
    `(${report.kind}, ${count} signer${count === 1 ? '' : 's'})`;
  return [
    head,
    ...(report.errors ?? []).map((e) => `  ! ${e.code}: ${e.message}`),
    ...report.signers.flatMap(describeSigner),
  ].join('\n');
}

/** `upp verify FILE...`: prints one report per file; 0 when every file is valid. */
export async function verifyCommand(args: string[]): Promise<number> {
  return run(async () => {
    const { values, positionals } = parse(
      args,
      {
        data: { type: 'string' },
        at: { type: 'string' },
        trust: { type: 'string' },
        crl: { type: 'string', multiple: true },
        ocsp: { type: 'string', multiple: true },
        revocation: { type: 'string' },
        json: { type: 'boolean' },
      },
      VERIFY_USAGE,
    );
    if (positionals.length === 0) throw new CommandError('usage', VERIFY_USAGE);
    const at = instant(values.at, '--at') ?? systemClock.now();
    const revocationOverride = revocationOption(values.revocation);
    const settings = settingsFromEnvironment();
    const configured =
      values.trust === undefined ? loadPlatformTrust(settings, systemClock, false) : undefined;
    const trust = configured?.trust ?? customTrust(values.trust as string);
    const readAll = (paths: string[] | undefined, what: string) =>
      (paths ?? []).map((path) => readInput(path, MAX_VERIFY_FILE_BYTES, what));
    let revocation;
    try {
      revocation = revocationCheck(
        { ...settings, revocation: revocationOverride ?? settings.revocation },
        systemClock,
        {
          ...(configured?.demoCa === undefined ? {} : { demoCa: configured.demoCa }),
          offlineCrls: readAll(values.crl, 'CRL'),
          offlineOcspResponses: readAll(values.ocsp, 'OCSP response'),
        },
      );
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      throw new CommandError(error.code, `--crl/--ocsp: ${error.message}`);
    }
    const content =
      values.data === undefined ? undefined : readInput(values.data, MAX_VERIFY_FILE_BYTES, 'data');
    const reports = await verifyFiles(positionals, {
      trust,
      at,
      revocation,
      ...(content === undefined ? {} : { content }),
    });
    if (values.json === true) {
      const output = reports.length === 1 ? reports[0] : reports;
      console.log(JSON.stringify(output, null, 2));
    } else {
      console.log(reports.map(describeReport).join('\n\n'));
    }
    return reports.every((r) => r.valid) ? EXIT.ok : EXIT.failed;
  });
}

function required(value: string | undefined, option: string, usage: string): string {
  if (value === undefined || value === '') {
    throw new CommandError('usage', `${option} is required\n${usage}`);
  }
  return value;
}

/** `upp sign`: a CMS signature (DER) of a file with the key of a PKCS#12 key store. */
export async function signCommand(args: string[]): Promise<number> {
  return run(async () => {
    const { values, positionals } = parse(
      args,
      {
        p12: { type: 'string' },
        password: { type: 'string' },
        data: { type: 'string' },
        detached: { type: 'boolean' },
        out: { type: 'string' },
      },
      SIGN_USAGE,
    );
    if (positionals.length > 0) throw new CommandError('usage', SIGN_USAGE);
    const p12Path = required(values.p12, '--p12', SIGN_USAGE);
    const password = required(values.password, '--password', SIGN_USAGE);
    const dataPath = required(values.data, '--data', SIGN_USAGE);
    const p12 = readInput(p12Path, MAX_PKCS12_BYTES, 'key store');
    const content = readInput(dataPath, MAX_VERIFY_FILE_BYTES, 'data');
    const store = openPkcs12(p12, password);
    const signature = signCms({
      content,
      detached: values.detached === true,
      signingTime: systemClock.now(),
      signers: [
        { privateKey: store.privateKey, certificate: store.certificate, chain: store.chain },
      ],
    });
    if (values.out === undefined) {
      process.stdout.write(signature);
    } else {
      writeFileSync(values.out, signature);
      const who = store.certificate.profile.commonName ?? store.certificate.subject.text;
      console.error(`signed by ${who} (${store.certificate.serialHex}): ${values.out}`);
    }
    return EXIT.ok;
  });
}

const ROLES: readonly DemoRole[] = [
  'individual',
  'first_head',
  'signing_right',
  'financial_signing_right',
  'hr',
  'employee',
];

/** The demo CA of the configured data directory, refused before anything else in production. */
function demoCaOrRefuse(): DemoCa {
  if (loadConfig().nodeEnv === 'production') {
    throw new CommandError(
      'trust.demo_in_production',
      'the demo PKI is refused when NODE_ENV=production',
      EXIT.failed,
    );
  }
  return openDemoCa(settingsFromEnvironment(), systemClock, true) as DemoCa;
}

function printDemoCa(ca: DemoCa): void {
  console.log(`demo CA in ${ca.dir}`);
  for (const algorithm of DEMO_ALGORITHMS) {
    const { root, issuing } = ca.cas[algorithm];
    console.log(`  ${algorithm}: root ${root.subject.text}`);
    console.log(`    issuing CA ${issuing.subject.text}, until ${issuing.notAfter.toISOString()}`);
    console.log(`    CRL ${ca.baseUrl}${DEMO_PATHS.crl(algorithm)}`);
  }
  console.log(`  OCSP ${ca.baseUrl}${DEMO_PATHS.ocsp}`);
  console.log(`  TSA ${ca.tsa.certificate.subject.text}: ${ca.baseUrl}${DEMO_PATHS.tsa}`);
  console.log(`  trust these certificates with: upp verify --trust ${ca.dir} FILE`);
}

function oneOf<T extends string>(raw: string, allowed: readonly T[], option: string): T {
  const found = allowed.find((value) => value === raw);
  if (found === undefined) {
    throw new CommandError('usage', `${option} takes ${allowed.join(', ')}, not ${raw}`);
  }
  return found;
}

function issueSubcommand(args: string[]): number {
  const { values } = parse(
    args,
    {
      role: { type: 'string' },
      iin: { type: 'string' },
      bin: { type: 'string' },
      org: { type: 'string' },
      purpose: { type: 'string' },
      alg: { type: 'string' },
      out: { type: 'string' },
      password: { type: 'string' },
      surname: { type: 'string' },
      'first-name': { type: 'string' },
      patronymic: { type: 'string' },
      days: { type: 'string' },
    },
    PKI_USAGE,
  );
  const role = oneOf(required(values.role, '--role', PKI_USAGE), ROLES, '--role');
  const purpose = oneOf(
    required(values.purpose, '--purpose', PKI_USAGE),
    ['sign', 'auth'],
    '--purpose',
  );
  const alg = oneOf<DemoAlgorithm>(
    required(values.alg, '--alg', PKI_USAGE),
    DEMO_ALGORITHMS,
    '--alg',
  );
  const out = required(values.out, '--out', PKI_USAGE);
  const password = required(values.password, '--password', PKI_USAGE);
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 3650)) {
    throw new CommandError('usage', '--days takes a whole number from 1 to 3650');
  }
  const ca = demoCaOrRefuse();
  let issued;
  try {
    issued = issueCertificate(ca, {
      role,
      iin: required(values.iin, '--iin', PKI_USAGE),
      ...(values.bin === undefined ? {} : { bin: values.bin }),
      ...(values.org === undefined ? {} : { org: values.org }),
      purpose,
      alg,
      names: {
        surname: values.surname ?? 'ТЕСТОВ',
        firstName: values['first-name'] ?? 'ТЕСТ',
        ...(values.patronymic === undefined ? {} : { patronymic: values.patronymic }),
      },
      password,
      ...(days === undefined ? {} : { validDays: days }),
    });
  } catch (error) {
    if (error instanceof PkiError && error.code === 'demo.invalid_request') {
      throw new CommandError(error.code, error.message);
    }
    throw error;
  }
  writeFileSync(out, issued.p12, { mode: 0o600 });
  const c = issued.certificate;
  console.log(`issued ${c.serialHex}: ${c.subject.text}`);
  console.log(`  ${alg}, ${purpose}, ${role}; valid until ${c.notAfter.toISOString()}`);
  console.log(`  key store: ${out}`);
  return EXIT.ok;
}

function revokeSubcommand(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { reason: { type: 'string' }, at: { type: 'string' } },
    PKI_USAGE,
  );
  const serial = positionals[0];
  if (serial === undefined || positionals.length > 1 || !/^(0x)?[0-9a-fA-F]{1,40}$/.test(serial)) {
    throw new CommandError('usage', `upp pki revoke takes one hex serial number\n${PKI_USAGE}`);
  }
  const reason =
    values.reason === undefined
      ? undefined
      : oneOf<RevocationReason>(values.reason, Object.values(REVOCATION_REASONS), '--reason');
  const at = instant(values.at, '--at') ?? systemClock.now();
  const ca = demoCaOrRefuse();
  const record = revokeCertificate(ca, serial.replace(/^0x/, ''), at, reason);
  console.log(
    `revoked ${record.serial} (${record.algorithm}) at ${record.revokedAt}` +
      (record.reason === undefined ? '' : `, ${record.reason}`),
  );
  return EXIT.ok;
}

function listSubcommand(): number {
  const ca = demoCaOrRefuse();
  const revoked = new Map(revokedCertificates(ca).map((r) => [r.serial, r]));
  const issued = issuedCertificates(ca);
  if (issued.length === 0) console.log('no certificates issued yet');
  for (const record of issued) {
    const revocation = revoked.get(record.serial);
    const status = revocation ? `revoked ${revocation.revokedAt}` : `until ${record.notAfter}`;
    console.log(`${record.serial} ${record.algorithm} ${status} ${record.subject}`);
  }
  return EXIT.ok;
}

/** `upp pki demo-ca|issue|revoke|list`: the demo PKI under <UPP_DATA_DIR>/pki/demo. */
export async function pkiCommand(args: string[]): Promise<number> {
  return run(async () => {
    const [subcommand, ...rest] = args;
    switch (subcommand) {
      case 'demo-ca': {
        parse(rest, {}, PKI_USAGE);
        printDemoCa(demoCaOrRefuse());
        return EXIT.ok;
      }
      case 'issue':
        return issueSubcommand(rest);
      case 'revoke':
        return revokeSubcommand(rest);
      case 'list':
        parse(rest, {}, PKI_USAGE);
        return listSubcommand();
      default:
        throw new CommandError('usage', PKI_USAGE);
    }
  });
}
