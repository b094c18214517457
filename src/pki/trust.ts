// Trust stores for path validation: NCA RK roots and issuing CAs loaded from configured folders,
// the test PKI only when configured, and the Trusted Third Party hook for foreign (EAEU) chains.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { parseCertificate, sameName, type Certificate } from './certificate.js';
import { PkiError } from './errors.js';

export type TrustKind = 'production' | 'test' | 'demo' | 'custom';

export interface TrustStore {
  /** Stable identity of the store's contents, used to key caches. */
  readonly id: string;
  readonly kind: TrustKind;
  /** Trust anchors: a path is trusted when it ends at one of these. */
  readonly roots: readonly Certificate[];
  /** Issuing CAs the store offers for building paths; they are not anchors themselves. */
  readonly intermediates: readonly Certificate[];
  isAnchor(cert: Certificate): boolean;
}

export interface TrustStoreInput {
  kind?: TrustKind;
  roots?: Certificate[];
  intermediates?: Certificate[];
  /** Certificates sorted automatically: self-issued CAs become roots, the rest intermediates. */
  certificates?: Certificate[];
}

export type TrustEnv = Record<string, string | undefined>;

/** Configuration variables read by trustStoreFromConfig. */
export const TRUST_ENV = {
  setting: 'UPP_PKI_TRUST',
  productionDir: 'UPP_PKI_PRODUCTION_TRUST_DIR',
  testDir: 'UPP_PKI_TEST_TRUST_DIR',
  demoDir: 'UPP_PKI_DEMO_TRUST_DIR',
  confirmedForeignCas: 'UPP_PKI_TTP_CONFIRMED_CAS',
} as const;

const CERTIFICATE_EXTENSIONS = new Set(['.cer', '.crt', '.pem', '.der']);
const MAX_TRUST_FILE_BYTES = 1024 * 1024;
const MAX_TRUST_FILES = 1000;

function refuseDemoInProduction(kind: TrustKind, env: TrustEnv): void {
  if (kind === 'demo' && env.NODE_ENV === 'production') {
    throw new PkiError(
      'trust.demo_in_production',
      'demo trust is refused when NODE_ENV=production',
    );
  }
}

export function createTrustStore(input: TrustStoreInput, env: TrustEnv = process.env): TrustStore {
  const kind = input.kind ?? 'custom';
  refuseDemoInProduction(kind, env);
  const roots = new Map<string, Certificate>();
  const intermediates = new Map<string, Certificate>();
  for (const cert of input.roots ?? []) roots.set(cert.fingerprintSha256, cert);
  for (const cert of input.intermediates ?? []) intermediates.set(cert.fingerprintSha256, cert);
  for (const cert of input.certificates ?? []) {
    const target = cert.isCa && cert.selfIssued ? roots : intermediates;
    target.set(cert.fingerprintSha256, cert);
  }
  for (const fingerprint of roots.keys()) intermediates.delete(fingerprint);
  const id = createHash('sha256')
    .update(kind)
    .update([...roots.keys()].sort().join(','))
    .update('|')
    .update([...intermediates.keys()].sort().join(','))
    .digest('hex');
  return {
    id,
    kind,
    roots: [...roots.values()],
    intermediates: [...intermediates.values()],
    isAnchor: (cert) => roots.has(cert.fingerprintSha256),
  };
}

/** Every certificate in a PEM bundle, or the single DER/PEM certificate in the file. */
export function readCertificateFile(bytes: Uint8Array): Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks && blocks.length > 1) return blocks.map((block) => parseCertificate(block));
  return [parseCertificate(bytes)];
}

/** Certificates of a folder (not its subfolders): .cer, .crt, .pem and .der files. */
export function loadCertificateFolder(folder: string): Certificate[] {
  let names: string[];
  try {
    names = readdirSync(folder).sort();
  } catch (cause) {
    throw new PkiError('trust.unavailable', `cannot read trust folder ${folder}`, { cause });
  }
  const files = names.filter((name) => CERTIFICATE_EXTENSIONS.has(extname(name).toLowerCase()));
  if (files.length > MAX_TRUST_FILES) throw new PkiError('trust.malformed', 'too many files');
  const certificates: Certificate[] = [];
  for (const name of files) {
    const path = join(folder, name);
    const stat = statSync(path);
    if (!stat.isFile()) continue;
    if (stat.size > MAX_TRUST_FILE_BYTES) {
      throw new PkiError('trust.malformed', `trust file ${name} is too large`);
    }
    try {
      certificates.push(...readCertificateFile(new Uint8Array(readFileSync(path))));
    } catch (cause) {
      throw new PkiError('trust.malformed', `trust file ${name} is not a certificate`, { cause });
    }
  }
  return certificates;
}

export function loadTrustStore(folder: string, kind: TrustKind, env: TrustEnv = process.env) {
  refuseDemoInProduction(kind, env);
  return createTrustStore({ kind, certificates: loadCertificateFolder(folder) }, env);
}

/**
 * The trust store named by `setting` (default: UPP_PKI_TRUST, else 'production'). 'production'
 * loads the NCA RK roots and issuing CAs from UPP_PKI_PRODUCTION_TRUST_DIR and is empty until
 * the operator provides them; 'test' loads
 * the NCA RK test PKI from UPP_PKI_TEST_TRUST_DIR; 'demo' the demo CA from UPP_PKI_DEMO_TRUST_DIR
 * (refused under NODE_ENV=production); any other value is a folder of trusted certificates.
 */
export function trustStoreFromConfig(
  setting?: 'production' | 'test' | 'demo' | string,
  env: TrustEnv = process.env,
): TrustStore {
  return trustStoreFor(setting ?? env[TRUST_ENV.setting] ?? 'production', env);
}

function trustStoreFor(setting: string, env: TrustEnv): TrustStore {
  const folderFor = (variable: string): string => {
    const folder = env[variable];
    if (!folder) {
      throw new PkiError(
        'trust.unconfigured',
        `${setting} trust needs ${variable} to name a folder`,
      );
    }
    return folder;
  };
  switch (setting) {
    case 'production': {
      const folder = env[TRUST_ENV.productionDir];
      return folder
        ? loadTrustStore(folder, 'production', env)
        : createTrustStore({ kind: 'production' }, env);
    }
    case 'test':
      return loadTrustStore(folderFor(TRUST_ENV.testDir), 'test', env);
    case 'demo':
      refuseDemoInProduction('demo', env);
      return loadTrustStore(folderFor(TRUST_ENV.demoDir), 'demo', env);
    default:
      if (setting.trim() === '') throw new PkiError('trust.unconfigured', 'empty trust setting');
      return loadTrustStore(setting, 'custom', env);
  }
}

/** Candidate issuers of `cert` in `pool`: names chain and, when both are present, SKI = AKI. */
export function issuerCandidates(cert: Certificate, pool: readonly Certificate[]): Certificate[] {
  return pool.filter((candidate) => {
    const named = sameName(
      { der: candidate.subjectDer, name: candidate.subject },
      { der: cert.issuerDer, name: cert.issuer },
    );
    if (!named) return false;
    if (cert.authorityKeyId && candidate.subjectKeyId) {
      return cert.authorityKeyId === candidate.subjectKeyId;
    }
    return true;
  });
}

export type TtpAnswer = 'confirmed' | 'not_confirmed';

/** The Trusted Third Party of RK: confirms (or not) a chain of a foreign (EAEU) CA. */
export interface TrustedThirdParty {
  confirm(chain: Certificate[], at: Date): Promise<TtpAnswer>;
}

/**
 * A TTP that confirms chains containing a CA certificate from a configured list of SHA-256
 * fingerprints, valid at the moment asked about.
 */
export class ConfirmedForeignCas implements TrustedThirdParty {
  private readonly fingerprints: Set<string>;

  constructor(fingerprints: Iterable<string>) {
    this.fingerprints = new Set(
      [...fingerprints].map((item) => item.replace(/[\s:]/g, '').toLowerCase()).filter(Boolean),
    );
  }

  static fromEnv(env: TrustEnv = process.env): ConfirmedForeignCas {
    return new ConfirmedForeignCas((env[TRUST_ENV.confirmedForeignCas] ?? '').split(','));
  }

  confirm(chain: Certificate[], at: Date): Promise<TtpAnswer> {
    const confirmed = chain.some(
      (cert) =>
        cert.isCa &&
        this.fingerprints.has(cert.fingerprintSha256) &&
        cert.notBefore <= at &&
        at <= cert.notAfter,
    );
    return Promise.resolve(confirmed ? 'confirmed' : 'not_confirmed');
  }
}
