// The platform's PKI context, built once per process: the configured trust (NCA RK production,
// test, the demo CA, folders), revocation checking with shared caches, the TSA and receipt key.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../config/index.js';
import { BatchStamper } from '../pki/batch-stamp.js';
import type { BatchStamp } from '../pki/batch-stamp.js';
import type { Certificate } from '../pki/certificate.js';
import type { ParsedCms } from '../pki/cms.js';
import { signCms } from '../pki/cms-sign.js';
import { parseCrl } from '../pki/crl.js';
import {
  createDemoCa,
  DEMO_ALGORITHMS,
  DEMO_TSA_POLICY,
  demoPkiReply,
  demoRecordsVersion,
  demoTimeStampAuthority,
  demoTrustStore,
  loadDemoCa,
} from '../pki/demo-ca.js';
import type { DemoCa } from '../pki/demo-ca.js';
import { PkiError } from '../pki/errors.js';
import type { PrivateKey } from '../pki/keys.js';
import { parseOcspResponse } from '../pki/ocsp.js';
import { openPkcs12 } from '../pki/pkcs12.js';
import { createHttpFetcher, RevocationChecker } from '../pki/revocation.js';
import type { HttpFetcher, RevocationSource } from '../pki/revocation.js';
import {
  ConfirmedForeignCas,
  createTrustStore,
  loadTrustStore,
  trustStoreFromConfig,
  TRUST_ENV,
} from '../pki/trust.js';
import type { TrustKind, TrustStore } from '../pki/trust.js';
import { TimeStampAuthority } from '../pki/tsp.js';
import { verifyCms } from '../pki/verify.js';
import type { RevocationCheck, VerificationReport } from '../pki/verify.js';

export interface PlatformPki {
  readonly trust: TrustStore;
  readonly demoCa: DemoCa | undefined;
  readonly tsa: TimeStampAuthority;
  /** Verifies a CMS (attached, or detached with `content`) at `at`: signatures, chain, time,
   *  revocation per configuration, and the key purpose when given (cert.wrong_purpose). */
  verifyCms(
    cms: Uint8Array | string | ParsedCms,
    options: { content?: Uint8Array; at: Date; purpose?: 'sign' | 'auth' },
  ): Promise<VerificationReport>;
  /** RFC 3161 token (DER) from the platform TSA over `data` (SHA-256 imprint). */
  timestamp(data: Uint8Array): Uint8Array;
  /** The same TSA's token over the Merkle root of the items stamped in this turn, with the
   *  item's audit path (pki/batch-stamp.ts): one signature for a whole rush of receipts. */
  stampInBatch(data: Uint8Array): Promise<BatchStamp>;
  /** How many tokens stampInBatch has issued and how many items they stamped. */
  readonly batchStats: { readonly batches: number; readonly items: number };
  /** The platform's own detached CMS signature over `data` (for receipts). */
  signAsPlatform(data: Uint8Array): Uint8Array;
}

export type NodeEnv = 'development' | 'production' | 'test';

export interface PkiSettings {
  nodeEnv: NodeEnv;
  dataDir: string;
  publicBaseUrl: string;
  /** `production`, `test`, `demo` or folder paths, in the order given. */
  trust: string[];
  revocation: RevocationSource[] | 'none';
  ocspUrls: string[];
  crlUrls: string[];
  tsaP12?: string;
  tsaPassword?: string;
  productionTrustDir?: string;
  testTrustDir?: string;
  /** SHA-256 fingerprints of foreign (EAEU) CAs the Trusted Third Party confirms. */
  confirmedForeignCas?: string[];
}

/** The variables pkiSettingsFromEnv reads; the README's configuration table lists the same. */
export const PKI_VARIABLES = {
  trust: 'UPP_PKI_TRUST',
  productionTrustDir: TRUST_ENV.productionDir,
  testTrustDir: TRUST_ENV.testDir,
  revocation: 'UPP_PKI_REVOCATION',
  ocspUrls: 'UPP_PKI_OCSP_URLS',
  crlUrls: 'UPP_PKI_CRL_URLS',
  tsaP12: 'UPP_TSA_P12',
  tsaPassword: 'UPP_TSA_PASSWORD',
  confirmedForeignCas: TRUST_ENV.confirmedForeignCas,
} as const;

const REVOCATION_SOURCES: readonly RevocationSource[] = ['ocsp', 'crl'];

type Env = Readonly<Record<string, string | undefined>>;

function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function fingerprintList(env: Env, variable: string): string[] {
  const items = list(env[variable]).map((item) => item.replace(/:/g, '').toLowerCase());
  if (!items.every((item) => /^[0-9a-f]{64}$/.test(item))) {
    throw new ConfigError(
      variable,
      'comma-separated SHA-256 fingerprints (hex)',
      env[variable] ?? '',
    );
  }
  return items;
}

function urlList(env: Env, variable: string): string[] {
  const urls = list(env[variable]);
  if (!urls.every(isHttpUrl)) {
    throw new ConfigError(variable, 'a comma-separated list of http(s) URLs', env[variable] ?? '');
  }
  return urls;
}

function trustSetting(env: Env, nodeEnv: NodeEnv): string[] {
  const raw = env[PKI_VARIABLES.trust];
  const production = nodeEnv === 'production';
  const items = raw === undefined || raw.trim() === '' ? [] : list(raw);
  if (raw !== undefined && raw.trim() !== '' && items.length === 0) {
    throw new ConfigError(PKI_VARIABLES.trust, 'production, test, demo or folder paths', raw);
  }
  const trust = items.length > 0 ? items : production ? ['production'] : ['production', 'demo'];
  if (production && trust.includes('demo')) {
    throw new ConfigError(
      PKI_VARIABLES.trust,
      'production, test or folder paths (demo trust is refused when NODE_ENV=production)',
      raw ?? '',
    );
  }
  return [...new Set(trust)];
}

function revocationSetting(env: Env): RevocationSource[] | 'none' {
  const raw = env[PKI_VARIABLES.revocation];
  if (raw === undefined || raw.trim() === '') return ['ocsp', 'crl'];
  if (raw.trim() === 'none') return 'none';
  const sources = list(raw);
  const known = sources.every((s) => (REVOCATION_SOURCES as readonly string[]).includes(s));
  if (sources.length === 0 || !known || new Set(sources).size !== sources.length) {
    throw new ConfigError(
      PKI_VARIABLES.revocation,
      'ocsp,crl (in any order, or one), or none',
      raw,
    );
  }
  return sources as RevocationSource[];
}

function optional(env: Env, variable: string): string | undefined {
  const raw = env[variable];
  return raw === undefined || raw.trim() === '' ? undefined : raw;
}

/**
 * Reads and checks the PKI variables; a wrong value throws ConfigError naming the variable. What
 * production requires (NCA RK roots, the TSA key) is checked where it is used: a command that
 * verifies against `--trust DIR` needs neither.
 */
export function pkiSettingsFromEnv(
  env: Env,
  base: { nodeEnv: NodeEnv; dataDir: string; publicBaseUrl: string },
): PkiSettings {
  const trust = trustSetting(env, base.nodeEnv);
  const productionTrustDir = optional(env, PKI_VARIABLES.productionTrustDir);
  const testTrustDir = optional(env, PKI_VARIABLES.testTrustDir);
  if (trust.includes('test') && testTrustDir === undefined) {
    throw new ConfigError(
      PKI_VARIABLES.testTrustDir,
      'a folder of NCA RK test certificates (UPP_PKI_TRUST includes test)',
      '',
    );
  }
  const tsaP12 = optional(env, PKI_VARIABLES.tsaP12);
  const tsaPassword = env[PKI_VARIABLES.tsaPassword];
  if (tsaP12 !== undefined && (tsaPassword === undefined || tsaPassword === '')) {
    throw new ConfigError(PKI_VARIABLES.tsaPassword, 'the password of UPP_TSA_P12', '');
  }
  return {
    nodeEnv: base.nodeEnv,
    dataDir: base.dataDir,
    publicBaseUrl: base.publicBaseUrl,
    trust,
    revocation: revocationSetting(env),
    ocspUrls: urlList(env, PKI_VARIABLES.ocspUrls),
    confirmedForeignCas: fingerprintList(env, PKI_VARIABLES.confirmedForeignCas),
    crlUrls: urlList(env, PKI_VARIABLES.crlUrls),
    ...(tsaP12 === undefined ? {} : { tsaP12, tsaPassword }),
    ...(productionTrustDir === undefined ? {} : { productionTrustDir }),
    ...(testTrustDir === undefined ? {} : { testTrustDir }),
  };
}

/** Where the demo CA of a data directory lives. */
export function demoCaDir(dataDir: string): string {
  return join(dataDir, 'pki', 'demo');
}

function trustEnv(settings: PkiSettings): Record<string, string | undefined> {
  return {
    NODE_ENV: settings.nodeEnv,
    [TRUST_ENV.productionDir]: settings.productionTrustDir,
    [TRUST_ENV.testDir]: settings.testTrustDir,
  };
}

/** Opens the demo CA of the data directory: created on first use, or only loaded if present. */
export function openDemoCa(
  settings: PkiSettings,
  clock: { now(): Date },
  create: boolean,
): DemoCa | undefined {
  const options = {
    dir: demoCaDir(settings.dataDir),
    clock: () => clock.now(),
    baseUrl: settings.publicBaseUrl,
    env: { NODE_ENV: settings.nodeEnv },
  };
  if (create) return createDemoCa(options);
  try {
    return loadDemoCa(options);
  } catch (error) {
    if (error instanceof PkiError && error.code === 'demo.missing') return undefined;
    throw error;
  }
}

function folderStore(
  kind: TrustKind,
  folder: string | undefined,
  variable: string,
  env: Env,
): TrustStore {
  try {
    if (kind === 'custom') return loadTrustStore(folder ?? '', kind, env);
    return trustStoreFromConfig(kind, env);
  } catch (error) {
    if (error instanceof PkiError && error.code === 'trust.unavailable') {
      throw new ConfigError(variable, 'a readable folder of certificate files', folder ?? '');
    }
    if (error instanceof PkiError && error.code === 'trust.malformed') {
      throw new ConfigError(
        variable,
        `a folder of certificate files (${error.message})`,
        folder ?? '',
      );
    }
    throw error;
  }
}

/** One store of every configured source: their roots and issuing CAs together. */
export function combineTrustStores(stores: readonly TrustStore[], env: Env): TrustStore {
  const kinds = new Set(stores.map((s) => s.kind));
  const [only] = kinds;
  return createTrustStore(
    {
      kind: kinds.size === 1 && only !== undefined ? only : 'custom',
      roots: stores.flatMap((s) => [...s.roots]),
      intermediates: stores.flatMap((s) => [...s.intermediates]),
    },
    env,
  );
}

export interface PlatformTrust {
  readonly trust: TrustStore;
  readonly demoCa: DemoCa | undefined;
}

/**
 * The configured trust. `createDemo` makes the demo CA on first use (the server); otherwise
 * demo trust covers the demo CA only if one exists already (a command that only verifies).
 */
export function loadPlatformTrust(
  settings: PkiSettings,
  clock: { now(): Date },
  createDemo: boolean,
): PlatformTrust {
  const env = trustEnv(settings);
  const production = settings.nodeEnv === 'production';
  if (production && settings.trust.includes('production') && !settings.productionTrustDir) {
    throw new ConfigError(
      PKI_VARIABLES.productionTrustDir,
      'the folder of NCA RK root and issuing CA certificates (required in production)',
      '',
    );
  }
  const stores: TrustStore[] = [];
  let demoCa: DemoCa | undefined;
  for (const item of settings.trust) {
    if (item === 'demo') {
      demoCa = openDemoCa(settings, clock, createDemo);
      if (demoCa !== undefined) stores.push(demoTrustStore(demoCa, env));
    } else if (item === 'production') {
      const folder = settings.productionTrustDir;
      stores.push(folderStore('production', folder, PKI_VARIABLES.productionTrustDir, env));
    } else if (item === 'test') {
      stores.push(folderStore('test', settings.testTrustDir, PKI_VARIABLES.testTrustDir, env));
    } else {
      stores.push(folderStore('custom', item, PKI_VARIABLES.trust, env));
    }
  }
  return { trust: combineTrustStores(stores, env), demoCa };
}

/**
 * An HTTP fetcher that answers the demo CA's own URLs (CRL, OCSP, CA certificates) in-process,
 * so checking a demo certificate needs no listening server; other URLs go over HTTP.
 */
export function demoAwareFetcher(
  demoCa: DemoCa | undefined,
  network: HttpFetcher = createHttpFetcher(),
): HttpFetcher {
  if (demoCa === undefined) return network;
  const prefix = `${demoCa.baseUrl}/pki/`;
  return async (url, request) => {
    if (!url.startsWith(prefix)) return network(url, request);
    const target = new URL(url);
    const reply = demoPkiReply(demoCa, {
      method: request.method,
      path: target.pathname,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    if (reply === undefined) {
      throw new PkiError('revocation.http_error', `HTTP 404 from ${url}`);
    }
    if (reply.body.length > request.maxBytes) {
      throw new PkiError('revocation.too_large', `${url} sent more than ${request.maxBytes} bytes`);
    }
    return reply.body;
  };
}

export interface RevocationInputs {
  readonly demoCa?: DemoCa;
  readonly offlineCrls?: Uint8Array[];
  readonly offlineOcspResponses?: Uint8Array[];
  readonly network?: HttpFetcher;
}

/** The verifier's revocation check per configuration, or 'none'. One per process or batch. */
export function revocationCheck(
  settings: Pick<PkiSettings, 'revocation' | 'ocspUrls' | 'crlUrls'>,
  clock: { now(): Date },
  inputs: RevocationInputs = {},
): RevocationCheck | 'none' {
  const sources = settings.revocation;
  if (sources === 'none') return 'none';
  const options = {
    fetcher: demoAwareFetcher(inputs.demoCa, inputs.network),
    ocspUrls: settings.ocspUrls,
    crlUrls: settings.crlUrls,
    offlineCrls: (inputs.offlineCrls ?? []).map((der) => parseCrl(der)),
    offlineOcspResponses: (inputs.offlineOcspResponses ?? []).map((der) => parseOcspResponse(der)),
    now: () => clock.now(),
  };
  const shared = new RevocationChecker(options);
  const demoCa = inputs.demoCa;
  const demoIssuers = new Set(
    demoCa === undefined ? [] : DEMO_ALGORITHMS.map((a) => demoCa.cas[a].issuing.fingerprintSha256),
  );
  // The demo CA revokes at once, not at its next update: its answers are kept only while its
  // records are exactly as they were when it gave them, so a revocation shows at once.
  const demo =
    demoCa === undefined
      ? shared
      : new RevocationChecker({ ...options, recordsVersion: () => demoRecordsVersion(demoCa) });
  const checkerFor = (issuer: Certificate) =>
    demoIssuers.has(issuer.fingerprintSha256) ? demo : shared;
  return {
    // An OCSP "unknown" (the responder does not know the certificate, as NCA's "revoked at
    // 1970" means) is not a status: the next source is asked, and "unknown" stands only if
    // that one cannot answer either.
    check: async (cert, issuer, at) => {
      const checker = checkerFor(issuer);
      const first = await checker.check(cert, issuer, at, { sources });
      const rest = sources.slice(sources.indexOf(first.source as RevocationSource) + 1);
      if (first.status !== 'unknown' || first.source === 'none' || rest.length === 0) {
        return first;
      }
      try {
        return await checker.check(cert, issuer, at, { sources: rest });
      } catch (error) {
        if (error instanceof PkiError) return first;
        throw error;
      }
    },
  };
}

interface SigningKey {
  readonly privateKey: PrivateKey;
  readonly certificate: Certificate;
  readonly chain: readonly Certificate[];
}

function operatorTsaKey(settings: PkiSettings): SigningKey {
  const path = settings.tsaP12 as string;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch {
    throw new ConfigError(PKI_VARIABLES.tsaP12, 'a readable PKCS#12 file', path);
  }
  try {
    const contents = openPkcs12(bytes, settings.tsaPassword ?? '');
    return { ...contents };
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    const variable =
      error.code === 'p12.bad_password' ? PKI_VARIABLES.tsaPassword : PKI_VARIABLES.tsaP12;
    throw new ConfigError(variable, `a key store that opens (${error.code})`, '***');
  }
}

/** Builds the PKI context; demo trust creates the demo CA under the data directory. */
export async function createPlatformPki(
  settings: PkiSettings,
  clock: { now(): Date },
): Promise<PlatformPki> {
  if (settings.nodeEnv === 'production' && settings.tsaP12 === undefined) {
    throw new ConfigError(
      PKI_VARIABLES.tsaP12,
      'the PKCS#12 file of the platform TSA key (required in production)',
      '',
    );
  }
  const loaded = loadPlatformTrust(settings, clock, true);
  const needsDemoTsa = settings.tsaP12 === undefined;
  const demoCa = loaded.demoCa ?? (needsDemoTsa ? openDemoCa(settings, clock, true) : undefined);
  let key: SigningKey;
  let tsa: TimeStampAuthority;
  if (needsDemoTsa) {
    const ca = demoCa as DemoCa;
    key = { ...ca.tsa, chain: [ca.cas.rsa.issuing, ca.cas.rsa.root] };
    tsa = demoTimeStampAuthority(ca);
  } else {
    key = operatorTsaKey(settings);
    try {
      tsa = new TimeStampAuthority({
        ...key,
        clock: () => clock.now(),
        policy: key.certificate.policies[0] ?? DEMO_TSA_POLICY,
      });
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      throw new ConfigError(PKI_VARIABLES.tsaP12, 'a time-stamping key (id-kp-timeStamping)', '');
    }
  }
  const revocation = revocationCheck(settings, clock, demoCa === undefined ? {} : { demoCa });
  const trust = loaded.trust;
  const ttp = new ConfirmedForeignCas(settings.confirmedForeignCas ?? []);
  const batches = new BatchStamper((imprint) => tsa.issue({ imprint }));
  const pki: PlatformPki = {
    trust,
    demoCa,
    tsa,
    verifyCms: (cms, options) =>
      verifyCms(cms, {
        trust,
        ttp,
        revocation,
        at: options.at,
        ...(options.content === undefined ? {} : { content: options.content }),
        ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
      }),
    timestamp: (data) => tsa.issue({ data }),
    stampInBatch: (data) => batches.stamp(data),
    batchStats: batches.stats,
    signAsPlatform: (data) =>
      signCms({
        content: data,
        detached: true,
        signingTime: clock.now(),
        signers: [key],
      }),
  };
  // Printing or logging the context shows what it is, never the keys inside.
  const summary = () => ({
    trust: { kind: trust.kind, roots: trust.roots.length, issuingCas: trust.intermediates.length },
    demoCa: demoCa === undefined ? null : demoCa.dir,
    tsa: tsa.certificate.subject.text,
  });
  Object.defineProperties(pki, {
    toJSON: { value: summary },
    [Symbol.for('nodejs.util.inspect.custom')]: { value: summary },
  });
  return pki;
}
