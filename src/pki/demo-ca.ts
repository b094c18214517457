// A local demo PKI in the NCA RK profile (root and issuing CA for RSA and GOST 2015-512, a TSA)
// that issues key stores for tests and the demo, revokes, and answers CRL and OCSP requests.
// Its folder holds private keys: it lives under the data directory, never in the repository.
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { buildCertificate } from './certificate-builder.js';
import type { CertificateTemplate, KeyUsageName, NameSpec } from './certificate-builder.js';
import { parseCertificate } from './certificate.js';
import type { Certificate } from './certificate.js';
import { signCrl } from './crl.js';
import { keyHash, ocspErrorResponse, parseOcspRequest, signOcspResponse } from './ocsp.js';
import type { StatusAnswer } from './ocsp.js';
import type { RevocationReason } from './crl.js';
import { digest } from './algorithms.js';
import { toHex } from './ber.js';
import { PkiError } from './errors.js';
import {
  generatePrivateKey,
  privateKeyFromPkcs8,
  privateKeyToPkcs8,
  signatureParts,
  signData,
  subjectPublicKeyInfo,
} from './keys.js';
import type { KeyAlgorithm, PrivateKey } from './keys.js';
import { createPkcs12 } from './pkcs12.js';
import { createTrustStore } from './trust.js';
import type { TrustEnv, TrustStore } from './trust.js';
import { TimeStampAuthority } from './tsp.js';

export type DemoAlgorithm = 'rsa' | 'gost2015';

export const DEMO_ALGORITHMS: readonly DemoAlgorithm[] = ['rsa', 'gost2015'];

const KEY_ALGORITHM: Record<DemoAlgorithm, KeyAlgorithm> = {
  rsa: 'rsa',
  gost2015: 'gost2015-512',
};

export type DemoRole =
  'individual' | 'first_head' | 'signing_right' | 'financial_signing_right' | 'hr' | 'employee';

/** Role EKUs of the NCA RK profile: an individual, or a legal entity with one sub-role. */
const ROLE_EKUS: Record<DemoRole, readonly string[]> = {
  individual: ['1.2.398.3.3.4.1.1'],
  first_head: ['1.2.398.3.3.4.1.2', '1.2.398.3.3.4.1.2.1'],
  signing_right: ['1.2.398.3.3.4.1.2', '1.2.398.3.3.4.1.2.2'],
  financial_signing_right: ['1.2.398.3.3.4.1.2', '1.2.398.3.3.4.1.2.3'],
  hr: ['1.2.398.3.3.4.1.2', '1.2.398.3.3.4.1.2.4'],
  employee: ['1.2.398.3.3.4.1.2', '1.2.398.3.3.4.1.2.5'],
};

const PURPOSES = {
  sign: {
    eku: '1.3.6.1.5.5.7.3.4',
    keyUsage: ['digitalSignature', 'nonRepudiation'] as KeyUsageName[],
    policy: '1.2.398.3.3.2.1',
  },
  auth: {
    eku: '1.3.6.1.5.5.7.3.2',
    keyUsage: ['digitalSignature', 'keyEncipherment'] as KeyUsageName[],
    policy: '1.2.398.3.3.2.2',
  },
} as const;

const CA_POLICY = '1.2.398.3.3.2';
/** TSA policy written into the demo time-stamp tokens. */
export const DEMO_TSA_POLICY = '1.2.398.3.3.2.6';
const TIME_STAMPING_EKU = '1.3.6.1.5.5.7.3.8';

const DAY = 24 * 60 * 60 * 1000;
const YEAR = 365 * DAY;

/** Where `upp serve` publishes the demo PKI; certificates point at these paths. */
export const DEMO_PATHS = {
  crl: (algorithm: DemoAlgorithm) => `/pki/crl/demo-${algorithm}.crl`,
  caCertificate: (algorithm: DemoAlgorithm) => `/pki/cert/demo-${algorithm}-ca.cer`,
  rootCertificate: (algorithm: DemoAlgorithm) => `/pki/cert/demo-${algorithm}-root.cer`,
  ocsp: '/pki/ocsp',
  tsa: '/pki/tsa',
} as const;

const NAMES: Record<DemoAlgorithm, { root: string; issuing: string }> = {
  rsa: { root: 'ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (DEMO RSA)', issuing: 'НУЦ РК (DEMO RSA)' },
  gost2015: {
    root: 'ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (DEMO GOST 2015)',
    issuing: 'НУЦ РК (DEMO GOST 2015)',
  },
};

interface CaMaterial {
  readonly root: Certificate;
  readonly issuing: Certificate;
  readonly issuingKey: PrivateKey;
}

export interface IssuedRecord {
  readonly serial: string;
  readonly algorithm: DemoAlgorithm;
  readonly subject: string;
  readonly notAfter: string;
  readonly issuedAt: string;
}

export interface RevokedRecord {
  readonly serial: string;
  readonly algorithm: DemoAlgorithm;
  readonly revokedAt: string;
  readonly reason?: RevocationReason;
}

export interface DemoCa {
  readonly dir: string;
  readonly baseUrl: string;
  readonly clock: () => Date;
  readonly cas: Readonly<Record<DemoAlgorithm, CaMaterial>>;
  readonly tsa: { readonly privateKey: PrivateKey; readonly certificate: Certificate };
}

export interface DemoCaOptions {
  /** Folder of the demo PKI, e.g. `<UPP_DATA_DIR>/pki/demo`. */
  readonly dir: string;
  readonly clock: () => Date;
  /** Base URL the CRL, OCSP and CA certificate addresses point at. */
  readonly baseUrl?: string;
  readonly rsaBits?: number;
  /** Environment to check (demo trust is refused when NODE_ENV=production). */
  readonly env?: TrustEnv;
}

interface StateFile {
  readonly version: 1;
  readonly baseUrl: string;
  readonly created: string;
}

const FILES = {
  state: 'demo-ca.json',
  issued: 'issued.json',
  revoked: 'revoked.json',
  certificate: (name: string) => `${name}.cer`,
  key: (name: string) => join('keys', `${name}.p8`),
} as const;

function refuseInProduction(env: TrustEnv): void {
  if (env.NODE_ENV === 'production') {
    throw new PkiError(
      'trust.demo_in_production',
      'the demo CA is refused when NODE_ENV=production',
    );
  }
}

function writeAtomically(path: string, bytes: Uint8Array | string, mode = 0o644): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, bytes, { mode });
  renameSync(temporary, path);
}

/** A positive serial of 16 random bytes whose hex form has no leading zero. */
function newSerial(): Uint8Array {
  const serial = randomBytes(16);
  serial[0] = 0x40 | ((serial[0] as number) & 0x3f);
  return serial;
}

function caTemplate(
  algorithm: DemoAlgorithm,
  subjectName: string,
  publicKey: Uint8Array,
  notBefore: Date,
  years: number,
  baseUrl: string,
  issuing: boolean,
): CertificateTemplate {
  return {
    serial: newSerial(),
    subject: [
      ['C', 'KZ'],
      ['CN', subjectName],
    ],
    notBefore,
    notAfter: new Date(notBefore.getTime() + years * YEAR),
    publicKey,
    isCa: true,
    pathLength: issuing ? 0 : undefined,
    keyUsage: ['keyCertSign', 'cRLSign'],
    policies: [CA_POLICY],
    caIssuersUrl: issuing ? baseUrl + DEMO_PATHS.rootCertificate(algorithm) : undefined,
  };
}

/** Opens the demo PKI in `dir`, creating it (keys, CA and TSA certificates) on first use. */
export function createDemoCa(options: DemoCaOptions): DemoCa {
  refuseInProduction(options.env ?? process.env);
  if (existsSync(join(options.dir, FILES.state))) return loadDemoCa(options);
  mkdirSync(join(options.dir, 'keys'), { recursive: true, mode: 0o700 });
  chmodSync(join(options.dir, 'keys'), 0o700);
  const baseUrl = (options.baseUrl ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const now = options.clock();
  const notBefore = new Date(now.getTime() - DAY);
  for (const algorithm of DEMO_ALGORITHMS) {
    const keyAlgorithm = KEY_ALGORITHM[algorithm];
    // The root key signs the issuing CA once and is then dropped: nothing else needs it.
    const rootKey = generatePrivateKey(keyAlgorithm, options.rsaBits ?? 2048);
    const root = buildCertificate(
      caTemplate(
        algorithm,
        NAMES[algorithm].root,
        subjectPublicKeyInfo(rootKey),
        notBefore,
        20,
        baseUrl,
        false,
      ),
      { privateKey: rootKey },
    );
    const issuingKey = generatePrivateKey(keyAlgorithm, options.rsaBits ?? 2048);
    const issuingTemplate = caTemplate(
      algorithm,
      NAMES[algorithm].issuing,
      subjectPublicKeyInfo(issuingKey),
      notBefore,
      10,
      baseUrl,
      true,
    );
    const issuing = buildCertificate(issuingTemplate, { privateKey: rootKey, certificate: root });
    writeAtomically(join(options.dir, FILES.certificate(`${algorithm}-root`)), root.der);
    writeAtomically(join(options.dir, FILES.certificate(`${algorithm}-ca`)), issuing.der);
    writeAtomically(
      join(options.dir, FILES.key(`${algorithm}-ca`)),
      privateKeyToPkcs8(issuingKey),
      0o600,
    );
  }
  const ca = loadMaterial(options.dir);
  const tsaKey = generatePrivateKey('rsa', options.rsaBits ?? 2048);
  const tsa = buildCertificate(
    {
      serial: newSerial(),
      subject: [
        ['C', 'KZ'],
        ['CN', 'UPP TSA (DEMO)'],
      ],
      notBefore,
      notAfter: new Date(notBefore.getTime() + 5 * YEAR),
      publicKey: subjectPublicKeyInfo(tsaKey),
      keyUsage: ['digitalSignature', 'nonRepudiation'],
      extKeyUsage: [TIME_STAMPING_EKU],
      extKeyUsageCritical: true,
      policies: [DEMO_TSA_POLICY],
      crlUrl: baseUrl + DEMO_PATHS.crl('rsa'),
      ocspUrl: baseUrl + DEMO_PATHS.ocsp,
      caIssuersUrl: baseUrl + DEMO_PATHS.caCertificate('rsa'),
    },
    { privateKey: ca.rsa.issuingKey, certificate: ca.rsa.issuing },
  );
  writeAtomically(join(options.dir, FILES.certificate('tsa')), tsa.der);
  writeAtomically(join(options.dir, FILES.key('tsa')), privateKeyToPkcs8(tsaKey), 0o600);
  writeAtomically(join(options.dir, FILES.issued), '[]\n');
  writeAtomically(join(options.dir, FILES.revoked), '[]\n');
  const state: StateFile = { version: 1, baseUrl, created: now.toISOString() };
  writeAtomically(join(options.dir, FILES.state), `${JSON.stringify(state, null, 2)}\n`);
  return loadDemoCa(options);
}

function loadMaterial(dir: string): Record<DemoAlgorithm, CaMaterial> {
  const read = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
  const entry = (algorithm: DemoAlgorithm): CaMaterial => ({
    root: parseCertificate(read(FILES.certificate(`${algorithm}-root`))),
    issuing: parseCertificate(read(FILES.certificate(`${algorithm}-ca`))),
    issuingKey: privateKeyFromPkcs8(read(FILES.key(`${algorithm}-ca`))),
  });
  return { rsa: entry('rsa'), gost2015: entry('gost2015') };
}

/** Opens an existing demo PKI folder. */
export function loadDemoCa(options: DemoCaOptions): DemoCa {
  refuseInProduction(options.env ?? process.env);
  const statePath = join(options.dir, FILES.state);
  if (!existsSync(statePath)) throw new PkiError('demo.missing', 'no demo CA in this folder');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as StateFile;
  const read = (name: string) => new Uint8Array(readFileSync(join(options.dir, name)));
  return {
    dir: options.dir,
    baseUrl: state.baseUrl,
    clock: options.clock,
    cas: loadMaterial(options.dir),
    tsa: {
      privateKey: privateKeyFromPkcs8(read(FILES.key('tsa'))),
      certificate: parseCertificate(read(FILES.certificate('tsa'))),
    },
  };
}

/** Trust in the demo roots (refused when NODE_ENV=production). */
export function demoTrustStore(ca: DemoCa, env: TrustEnv = process.env): TrustStore {
  return createTrustStore(
    {
      kind: 'demo',
      roots: DEMO_ALGORITHMS.map((a) => ca.cas[a].root),
      intermediates: DEMO_ALGORITHMS.map((a) => ca.cas[a].issuing),
    },
    env,
  );
}

export interface IssueRequest {
  readonly role: DemoRole;
  readonly iin: string;
  readonly bin?: string;
  readonly org?: string;
  readonly purpose: 'sign' | 'auth';
  readonly alg: DemoAlgorithm;
  readonly names: {
    readonly surname: string;
    readonly firstName: string;
    readonly patronymic?: string;
  };
  /** Password of the key store written. */
  readonly password: string;
  readonly validDays?: number;
}

export interface IssuedKeyStore {
  readonly p12: Uint8Array;
  readonly certificate: Certificate;
  readonly privateKey: PrivateKey;
}

function invalid(message: string): PkiError {
  return new PkiError('demo.invalid_request', message);
}

function subjectFor(request: IssueRequest): NameSpec {
  const { surname, firstName, patronymic } = request.names;
  const name: [NameSpec[number][0], string][] = [
    ['CN', `${surname} ${firstName}`.toUpperCase()],
    ['SN', surname.toUpperCase()],
    ['SERIALNUMBER', `IIN${request.iin}`],
    ['C', 'KZ'],
  ];
  if (request.role !== 'individual') {
    name.push(['O', request.org ?? ''], ['OU', `BIN${request.bin ?? ''}`]);
  }
  if (patronymic !== undefined && patronymic !== '') name.push(['G', patronymic.toUpperCase()]);
  return name;
}

function checkRequest(request: IssueRequest): void {
  if (!/^\d{12}$/.test(request.iin)) throw invalid('IIN must be 12 digits');
  if (ROLE_EKUS[request.role] === undefined) throw invalid(`unknown role ${request.role}`);
  if (PURPOSES[request.purpose] === undefined) throw invalid('purpose must be sign or auth');
  if (!DEMO_ALGORITHMS.includes(request.alg)) throw invalid('alg must be rsa or gost2015');
  if (request.role !== 'individual') {
    if (request.bin === undefined || !/^\d{12}$/.test(request.bin)) {
      throw invalid('a legal-entity role needs a 12-digit BIN');
    }
    if (request.org === undefined || request.org.trim() === '') {
      throw invalid('a legal-entity role needs the organisation name');
    }
  }
  if (request.names.surname.trim() === '' || request.names.firstName.trim() === '') {
    throw invalid('surname and first name are required');
  }
  if (request.password.length === 0) throw invalid('the key store needs a password');
}

function readJson<T>(ca: DemoCa, file: string): T[] {
  return JSON.parse(readFileSync(join(ca.dir, file), 'utf8')) as T[];
}

/** The identity of a file's current content as the file system tells it, without reading it. */
function fileStamp(path: string): string {
  const info = statSync(path, { bigint: true });
  return `${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

/** The issued records last read, by folder; the list only grows, and is replaced by a rename. */
const issuedRead = new Map<string, { stamp: string; records: readonly IssuedRecord[] }>();

/**
 * The issued records, read again only when the file is another one than last time: every OCSP
 * answer looks a serial up in it, and it holds every certificate ever issued. The file is
 * looked at before it is read, so a change in between is read again next time. A change the
 * file system cannot show would only make a new certificate "unknown" for a moment.
 */
function issuedRecords(ca: DemoCa): readonly IssuedRecord[] {
  const path = join(ca.dir, FILES.issued);
  const stamp = fileStamp(path);
  const known = issuedRead.get(ca.dir);
  if (known !== undefined && known.stamp === stamp) return known.records;
  const records = Object.freeze(readJson<IssuedRecord>(ca, FILES.issued));
  issuedRead.set(ca.dir, { stamp, records });
  return records;
}

/**
 * Changes whenever an answer of this CA about a certificate may change: the exact bytes of the
 * revocation list (small, read every time) and the issued list's file. A revocation check may
 * keep the CA's answers while this stays the same.
 */
export function demoRecordsVersion(ca: DemoCa): string {
  const revoked = createHash('sha256')
    .update(readFileSync(join(ca.dir, FILES.revoked)))
    .digest('hex');
  return `${revoked}:${fileStamp(join(ca.dir, FILES.issued))}`;
}

/** Issues a key pair and certificate in the NCA RK profile; returns a PKCS#12 key store. */
export function issueCertificate(ca: DemoCa, request: IssueRequest): IssuedKeyStore {
  checkRequest(request);
  const material = ca.cas[request.alg];
  const purpose = PURPOSES[request.purpose];
  const privateKey = generatePrivateKey(KEY_ALGORITHM[request.alg]);
  const now = ca.clock();
  const notAfter = new Date(
    Math.min(now.getTime() + (request.validDays ?? 365) * DAY, material.issuing.notAfter.getTime()),
  );
  const certificate = buildCertificate(
    {
      serial: newSerial(),
      subject: subjectFor(request),
      notBefore: now,
      notAfter,
      publicKey: subjectPublicKeyInfo(privateKey),
      keyUsage: purpose.keyUsage,
      extKeyUsage: [purpose.eku, ...ROLE_EKUS[request.role]],
      policies: [purpose.policy],
      crlUrl: ca.baseUrl + DEMO_PATHS.crl(request.alg),
      ocspUrl: ca.baseUrl + DEMO_PATHS.ocsp,
      caIssuersUrl: ca.baseUrl + DEMO_PATHS.caCertificate(request.alg),
    },
    { privateKey: material.issuingKey, certificate: material.issuing },
  );
  const p12 = createPkcs12(
    {
      privateKeyPkcs8: privateKeyToPkcs8(privateKey),
      certificate: certificate.der,
      chain: [material.issuing.der, material.root.der],
      friendlyName: certificate.serialHex,
    },
    request.password,
  );
  const record: IssuedRecord = {
    serial: certificate.serialHex,
    algorithm: request.alg,
    subject: certificate.subject.text,
    notAfter: notAfter.toISOString(),
    issuedAt: now.toISOString(),
  };
  const issued = readJson<IssuedRecord>(ca, FILES.issued);
  writeAtomically(join(ca.dir, FILES.issued), `${JSON.stringify([...issued, record], null, 2)}\n`);
  return { p12, certificate, privateKey };
}

export function issuedCertificates(ca: DemoCa): IssuedRecord[] {
  return [...issuedRecords(ca)];
}

export function revokedCertificates(ca: DemoCa): RevokedRecord[] {
  return readJson<RevokedRecord>(ca, FILES.revoked);
}

/** Records a revocation (persisted in the folder); revoking twice keeps the first date. */
export function revokeCertificate(
  ca: DemoCa,
  serialHex: string,
  at: Date,
  reason?: RevocationReason,
): RevokedRecord {
  const serial = serialHex.toLowerCase().replace(/^0+(?=.)/, '');
  const issued = issuedCertificates(ca).find((r) => r.serial === serial);
  if (issued === undefined) throw new PkiError('demo.unknown_serial', `no certificate ${serial}`);
  const revoked = revokedCertificates(ca);
  const existing = revoked.find((r) => r.serial === serial);
  if (existing !== undefined) return existing;
  const record: RevokedRecord = {
    serial,
    algorithm: issued.algorithm,
    revokedAt: at.toISOString(),
    ...(reason === undefined ? {} : { reason }),
  };
  writeAtomically(
    join(ca.dir, FILES.revoked),
    `${JSON.stringify([...revoked, record], null, 2)}\n`,
  );
  return record;
}

function peculiarAlgorithm(der: Uint8Array): AlgorithmIdentifier {
  return AsnConvert.parse(der, AlgorithmIdentifier);
}

/** A fresh CRL of the issuing CA of `algorithm`, valid for one day from now. */
export function demoCrl(ca: DemoCa, algorithm: DemoAlgorithm): Uint8Array {
  const material = ca.cas[algorithm];
  const now = ca.clock();
  return signCrl({
    issuer: material.issuing,
    sign: (tbs) => signData(material.issuingKey, tbs),
    signatureAlgorithm: peculiarAlgorithm(
      signatureParts(material.issuingKey.algorithm).signatureAlgorithm,
    ),
    revoked: revokedCertificates(ca)
      .filter((r) => r.algorithm === algorithm)
      .map((r) => ({ serialHex: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason })),
    thisUpdate: now,
    nextUpdate: new Date(now.getTime() + DAY),
    crlNumber: BigInt(Math.floor(now.getTime() / 1000)),
  });
}

/** Which demo CA an OCSP request asks about, by the issuer hashes of its first CertID. */
function ocspTarget(ca: DemoCa, requestDer: Uint8Array): DemoAlgorithm | undefined {
  const id = parseOcspRequest(requestDer).certIds[0]?.value;
  if (id === undefined) return undefined;
  return DEMO_ALGORITHMS.find((algorithm) => {
    const issuer = ca.cas[algorithm].issuing;
    return (
      id.issuerNameHash === toHex(digest(id.hash, issuer.subjectDer)) &&
      id.issuerKeyHash === keyHash(issuer, id.hash)
    );
  });
}

function ocspStatus(ca: DemoCa, algorithm: DemoAlgorithm, serialHex: string): StatusAnswer {
  const serial = serialHex.toLowerCase().replace(/^0+(?=.)/, '');
  const revoked = revokedCertificates(ca).find((r) => r.serial === serial);
  if (revoked !== undefined && revoked.algorithm === algorithm) {
    return { status: 'revoked', revokedAt: new Date(revoked.revokedAt), reason: revoked.reason };
  }
  const issued = issuedRecords(ca).some((r) => r.serial === serial && r.algorithm === algorithm);
  return { status: issued ? 'good' : 'unknown' };
}

/**
 * Answers a DER OCSP request (`application/ocsp-request`) for either demo issuing CA; the CA
 * signs its own responses. Malformed requests get malformedRequest, never an exception.
 */
export function demoOcspRespond(ca: DemoCa, requestDer: Uint8Array): Uint8Array {
  let algorithm: DemoAlgorithm | undefined;
  try {
    algorithm = ocspTarget(ca, requestDer);
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return ocspErrorResponse('malformedRequest');
  }
  const material = ca.cas[algorithm ?? 'rsa'];
  const now = ca.clock();
  return signOcspResponse({
    responderCert: material.issuing,
    issuer: material.issuing,
    sign: (tbs) => signData(material.issuingKey, tbs),
    signatureAlgorithm: peculiarAlgorithm(
      signatureParts(material.issuingKey.algorithm).signatureAlgorithm,
    ),
    request: requestDer,
    statusOf: (serialHex) => ocspStatus(ca, algorithm ?? 'rsa', serialHex),
    producedAt: now,
    nextUpdate: new Date(now.getTime() + 10 * 60 * 1000),
  });
}

export interface DemoPkiReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
}

const CONTENT_TYPES = {
  crl: 'application/pkix-crl',
  certificate: 'application/pkix-cert',
  ocsp: 'application/ocsp-response',
  timestamp: 'application/timestamp-reply',
} as const;

/**
 * Answers the HTTP requests of the demo PKI, independent of the HTTP framework: GET of CRLs and
 * CA certificates, OCSP by POST (or GET with the base64 request in the path) and RFC 3161 by
 * POST. `undefined` for paths that are not the demo PKI's.
 */
export function demoPkiReply(
  ca: DemoCa,
  request: { method: string; path: string; body?: Uint8Array },
): DemoPkiReply | undefined {
  const path = request.path.split('?')[0] ?? '';
  const ok = (contentType: string, body: Uint8Array) => ({ status: 200, contentType, body });
  for (const algorithm of DEMO_ALGORITHMS) {
    if (path === DEMO_PATHS.crl(algorithm)) return ok(CONTENT_TYPES.crl, demoCrl(ca, algorithm));
    if (path === DEMO_PATHS.caCertificate(algorithm)) {
      return ok(CONTENT_TYPES.certificate, ca.cas[algorithm].issuing.der);
    }
    if (path === DEMO_PATHS.rootCertificate(algorithm)) {
      return ok(CONTENT_TYPES.certificate, ca.cas[algorithm].root.der);
    }
  }
  if (path === DEMO_PATHS.tsa && request.method === 'POST') {
    const tsa = demoTimeStampAuthority(ca);
    return ok(CONTENT_TYPES.timestamp, tsa.respond(request.body ?? new Uint8Array(0)));
  }
  if (path === DEMO_PATHS.ocsp || path.startsWith(`${DEMO_PATHS.ocsp}/`)) {
    let body = request.body ?? new Uint8Array(0);
    if (request.method === 'GET') {
      const encoded = decodeURIComponent(path.slice(DEMO_PATHS.ocsp.length + 1));
      body = new Uint8Array(Buffer.from(encoded, 'base64'));
    }
    return ok(CONTENT_TYPES.ocsp, demoOcspRespond(ca, body));
  }
  return undefined;
}

/** The platform TSA run with the demo TSA key, for receipts in the demo. */
export function demoTimeStampAuthority(ca: DemoCa): TimeStampAuthority {
  return new TimeStampAuthority({
    privateKey: ca.tsa.privateKey,
    certificate: ca.tsa.certificate,
    chain: [ca.cas.rsa.issuing, ca.cas.rsa.root],
    clock: ca.clock,
    policy: DEMO_TSA_POLICY,
  });
}
