// One call for the CLI and the API: verifies CMS messages, time-stamps, certificates, CRLs,
// OCSP responses (and XML through pki/xml) into the report `upp verify --json` prints.
import { readFile, stat } from 'node:fs/promises';
import { canonicalJson } from '../domain/canonical-json.js';
import { rootImprint, rootOf } from './batch-stamp.js';
import type { MerkleStep } from './batch-stamp.js';
import { decodeBer, TAG } from './ber.js';
import type { BerNode } from './ber.js';
import { parseCertificate, sameName } from './certificate.js';
import type { Certificate } from './certificate.js';
import { checkCmsSignatures, CMS_OIDS, parseCms } from './cms.js';
import type { ParsedCms, PkiIssue, SignerCheck, TimestampCheck } from './cms.js';
import { checkCrl, parseCrl } from './crl.js';
import { PkiError } from './errors.js';
import { keyHash, parseOcspResponse } from './ocsp.js';
import { verifySignature } from './algorithms.js';
import { validatePath } from './path.js';
import type { PathResult } from './path.js';
import { toDer } from './pem.js';
import type { TrustedThirdParty, TrustStore } from './trust.js';
import { parseTimeStampResponse, verifyTimeStampToken } from './tsp.js';
import type { MessageImprint } from './tsp.js';
import { verifyXml } from './xml/index.js';

export type RevocationStatusName = 'good' | 'revoked' | 'unknown';

export interface RevocationAnswer {
  readonly status: RevocationStatusName;
  /** Where the answer came from: 'ocsp', 'crl', 'none', ... */
  readonly source: string;
  readonly revokedAt?: Date;
}

/** What verifyCms needs of a revocation checker (revocation.ts provides one). */
export interface RevocationCheck {
  check(cert: Certificate, issuer: Certificate, at: Date): Promise<RevocationAnswer>;
}

export interface CmsVerifyOptions {
  /** The signed content of a detached signature. */
  readonly content?: Uint8Array;
  readonly trust: TrustStore;
  /** The moment the certificates must be valid at (e.g. the receipt time). */
  readonly at: Date;
  /** A checker, or 'none' to skip revocation (then it does not count against validity). */
  readonly revocation?: RevocationCheck | 'none';
  readonly ttp?: TrustedThirdParty;
  /** Require this key purpose of every signer (`cert.wrong_purpose`). */
  readonly purpose?: 'sign' | 'auth';
  /** Reported as `file`. */
  readonly file?: string;
}

export interface SignerReport {
  readonly signatureValid: boolean;
  readonly timeValid: boolean;
  readonly signingTime: string | null;
  readonly timestamp: { readonly time: string; readonly valid: boolean } | null;
  readonly certificate: {
    readonly serial: string;
    readonly subject: {
      readonly commonName: string | null;
      readonly iin: string | null;
      readonly bin: string | null;
      readonly organization: string | null;
    };
    readonly keyPurpose: string;
    readonly roles: readonly string[];
    readonly notBefore: string;
    readonly notAfter: string;
    readonly algorithm: string;
  } | null;
  readonly chain: { readonly trusted: boolean; readonly anchor: string | null };
  readonly revocation: {
    readonly status: RevocationStatusName;
    readonly source: string;
    readonly revokedAt: string | null;
  };
  readonly errors: PkiIssue[];
}

export interface VerificationReport {
  readonly file: string | null;
  readonly kind: string;
  readonly valid: boolean;
  readonly signers: SignerReport[];
  /** Errors of the whole input (unreadable, unsupported); signers carry their own. */
  readonly errors?: PkiIssue[];
}

export function certificateSummary(
  certificate: Certificate,
): NonNullable<SignerReport['certificate']> {
  const p = certificate.profile;
  return {
    serial: certificate.serialHex,
    subject: {
      commonName: p.commonName ?? null,
      iin: p.iin ?? null,
      bin: p.bin ?? null,
      organization: p.organization ?? null,
    },
    keyPurpose: p.keyPurpose,
    roles: [...p.roles],
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    algorithm: p.algorithm,
  };
}

export function timeIssues(certificate: Certificate, at: Date, signingTime?: Date): PkiIssue[] {
  const issues: PkiIssue[] = [];
  if (at < certificate.notBefore) {
    issues.push({
      code: 'cert.not_yet_valid',
      message: `certificate not valid before ${iso(certificate.notBefore)}`,
    });
  }
  if (at > certificate.notAfter) {
    issues.push({
      code: 'cert.expired',
      message: `certificate expired ${iso(certificate.notAfter)}`,
    });
  }
  if (
    signingTime !== undefined &&
    (signingTime < certificate.notBefore || signingTime > certificate.notAfter)
  ) {
    issues.push({
      code: 'signing_time.outside_validity',
      message: `signingTime ${iso(signingTime)} is outside the certificate validity`,
    });
  }
  return issues;
}

const iso = (d: Date) => d.toISOString();

export function addUnique(errors: PkiIssue[], more: readonly PkiIssue[]): void {
  for (const issue of more) {
    if (!errors.some((e) => e.code === issue.code)) errors.push(issue);
  }
}

export async function revocationOf(
  options: CmsVerifyOptions,
  path: PathResult | undefined,
  errors: PkiIssue[],
): Promise<SignerReport['revocation']> {
  const none = { status: 'unknown' as const, source: 'none', revokedAt: null };
  const checker = options.revocation ?? 'none';
  if (checker === 'none') return none;
  // An anchor is trusted by configuration and has no issuer to ask; a foreign chain's status is
  // part of what the Trusted Third Party confirms.
  if (path?.trusted === true && path.chain.length === 1) {
    return { status: 'unknown', source: 'trust-anchor', revokedAt: null };
  }
  if (path?.ttp === 'confirmed') return { status: 'good', source: 'ttp', revokedAt: null };
  const [leaf, issuer] = path?.chain ?? [];
  if (leaf === undefined || issuer === undefined) {
    errors.push({ code: 'revocation.unavailable', message: 'no issuer to check revocation with' });
    return none;
  }
  let answer: RevocationAnswer;
  try {
    answer = await checker.check(leaf, issuer, options.at);
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    errors.push({ code: 'revocation.unavailable', message: error.message });
    return none;
  }
  const report = {
    status: answer.status,
    source: answer.source,
    revokedAt: answer.revokedAt ? iso(answer.revokedAt) : null,
  };
  if (answer.status === 'revoked') {
    errors.push({
      code: 'cert.revoked',
      message: `certificate revoked ${report.revokedAt ?? ''}`.trim(),
    });
  } else if (answer.status === 'unknown') {
    errors.push({
      code: 'revocation.unavailable',
      message: 'revocation status could not be obtained',
    });
  }
  return report;
}

async function signerReport(
  check: SignerCheck,
  intermediates: Certificate[],
  options: CmsVerifyOptions,
): Promise<{ report: SignerReport; valid: boolean }> {
  const errors: PkiIssue[] = [...check.errors];
  const certificate = check.certificate;
  let path: PathResult | undefined;
  let timeValid = false;
  if (certificate !== undefined) {
    const issues = timeIssues(certificate, options.at, check.signingTime);
    timeValid = !issues.some((i) => i.code.startsWith('cert.'));
    path = await validatePath(certificate, {
      trust: options.trust,
      intermediates,
      at: options.at,
      ttp: options.ttp,
      purpose: options.purpose,
    });
    addUnique(errors, issues);
    addUnique(errors, path.errors);
  }
  const revocation = await revocationOf(options, path, errors);
  const timestampOk =
    check.timestamp === undefined ||
    (check.timestamp.valid && (await timestampTrusted(check.timestamp, options, errors)));
  const valid =
    check.signatureValid &&
    timeValid &&
    path?.trusted === true &&
    timestampOk &&
    errors.length === 0;
  return {
    valid,
    report: {
      signatureValid: check.signatureValid,
      timeValid,
      signingTime: check.signingTime ? iso(check.signingTime) : null,
      timestamp: check.timestamp
        ? { time: iso(check.timestamp.time), valid: check.timestamp.valid }
        : null,
      certificate: certificate ? certificateSummary(certificate) : null,
      chain: { trusted: path?.trusted ?? false, anchor: path?.anchor ?? null },
      revocation,
      errors,
    },
  };
}

/** The TSA of an embedded time-stamp must chain to the trust store at the stamped time. */
async function timestampTrusted(
  timestamp: TimestampCheck,
  options: CmsVerifyOptions,
  errors: PkiIssue[],
): Promise<boolean> {
  const tsa = timestamp.tsaCertificate;
  if (tsa === undefined) return false;
  const path = await validatePath(tsa, {
    trust: options.trust,
    intermediates: [...(timestamp.certificates ?? [])],
    at: timestamp.time,
    ttp: options.ttp,
  });
  if (!path.trusted) {
    const reason = path.errors[0]?.message ?? 'no path to a trusted root';
    errors.push({ code: 'timestamp.untrusted', message: `TSA certificate: ${reason}` });
  }
  return path.trusted;
}

/**
 * Verifies a CMS message completely: every signer's signature, certificate path at `at`,
 * validity and revocation. `valid` holds only when every signer passes all of them.
 */
export async function verifyCms(
  input: Uint8Array | string | ParsedCms,
  options: CmsVerifyOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  let checks: SignerCheck[];
  let carried: Certificate[];
  try {
    const cms = typeof input === 'string' || input instanceof Uint8Array ? parseCms(input) : input;
    carried = [...cms.certificates];
    checks = checkCmsSignatures(cms, { content: options.content });
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return { file, kind: 'cms', valid: false, signers: [], errors: [issueOf(error)] };
  }
  const results = await Promise.all(checks.map((c) => signerReport(c, carried, options)));
  return {
    file,
    kind: 'cms',
    valid: results.length > 0 && results.every((r) => r.valid),
    signers: results.map((r) => r.report),
  };
}

export function issueOf(error: PkiError): PkiIssue {
  return { code: error.code, message: error.message };
}

export type InputKind =
  | 'cms'
  | 'timestamp-token'
  | 'timestamp-response'
  | 'certificate'
  | 'crl'
  | 'ocsp-response'
  | 'pkcs12'
  | 'xml'
  | 'receipt'
  | 'unknown';

const isOid = (node: BerNode | undefined): boolean => node?.tag === TAG.oid;

/** Recognises what an input is from its structure (DER, PEM, base64 or XML text). */
export function detectKind(input: Uint8Array | string): InputKind {
  const text = typeof input === 'string' ? input : Buffer.from(input.subarray(0, 64)).toString();
  if (/^\s*(<\?xml|<[A-Za-z_])/.test(text.replace(/^\uFEFF/, ''))) return 'xml';
  if (/^\s*\{/.test(text)) return 'receipt';
  let root: BerNode;
  try {
    root = decodeBer(toDer(input, undefined, 'input.malformed'), 'input.malformed');
  } catch {
    return 'unknown';
  }
  const [first, second, third] = root.children;
  if (root.tag !== TAG.sequence || first === undefined) return 'unknown';
  if (isOid(first)) return signedKind(root);
  if (first.tag === TAG.enumerated) return 'ocsp-response';
  if (first.tag === TAG.integer && second?.tag === TAG.sequence && isOid(second.children[0])) {
    return 'pkcs12';
  }
  if (first.tag === TAG.sequence && first.children[0]?.tag === TAG.integer && !third) {
    return 'timestamp-response';
  }
  if (first.tag === TAG.sequence && second?.tag === TAG.sequence && third?.tag === TAG.bitString) {
    const tbs = first.children;
    if (tbs[0]?.tag === 0xa0) return 'certificate';
    const timeAt = tbs.findIndex((n) => n.tag === TAG.utcTime || n.tag === TAG.generalizedTime);
    return timeAt >= 0 && timeAt <= 3 ? 'crl' : 'certificate';
  }
  return 'unknown';
}

function signedKind(root: BerNode): InputKind {
  try {
    return parseCms(root.bytes).contentType === CMS_OIDS.tstInfo ? 'timestamp-token' : 'cms';
  } catch {
    return 'cms';
  }
}

export interface VerifyInputOptions extends Omit<CmsVerifyOptions, 'file'> {
  readonly file?: string;
}

function failed(file: string | null, kind: string, error: PkiError): VerificationReport {
  return { file, kind, valid: false, signers: [], errors: [issueOf(error)] };
}

/** A report entry for a certificate that signed something (a TSA, a CRL or OCSP signer). */
async function certificateEntry(
  certificate: Certificate,
  signatureValid: boolean,
  at: Date,
  options: VerifyInputOptions,
  intermediates: Certificate[] = [],
  errors: readonly PkiIssue[] = [],
): Promise<{ report: SignerReport; valid: boolean }> {
  const check: SignerCheck = {
    index: 0,
    signatureValid,
    certificate,
    errors: [...errors],
  };
  return signerReport(check, intermediates, { ...options, at, purpose: undefined });
}

async function verifyTimestampInput(
  input: Uint8Array | string,
  kind: 'timestamp-token' | 'timestamp-response',
  options: VerifyInputOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  try {
    let token: Uint8Array | string = input;
    if (kind === 'timestamp-response') {
      const response = parseTimeStampResponse(input);
      if (response.token === undefined) {
        throw new PkiError('timestamp.rejected', `the TSA refused: ${response.statusText ?? ''}`);
      }
      token = response.token;
    }
    const result = verifyTimeStampToken(token, {});
    if (result.tsaCertificate === undefined) {
      throw new PkiError('timestamp.no_tsa_certificate', 'the token does not carry its TSA');
    }
    const entry = await certificateEntry(
      result.tsaCertificate,
      result.valid,
      result.time,
      options,
      [...parseCms(token).certificates],
      result.errors,
    );
    const report: SignerReport = {
      ...entry.report,
      timestamp: { time: result.time.toISOString(), valid: result.valid },
    };
    return { file, kind, valid: entry.valid, signers: [report] };
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return failed(file, kind, error);
  }
}

async function verifyCertificateInput(
  input: Uint8Array | string,
  options: VerifyInputOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  try {
    const certificate = parseCertificate(input);
    const entry = await certificateEntry(certificate, true, options.at, options);
    const signatureBroken = entry.report.errors.some((e) => e.code.includes('signature'));
    const report = { ...entry.report, signatureValid: !signatureBroken };
    return { file, kind: 'certificate', valid: entry.valid, signers: [report] };
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return failed(file, 'certificate', error);
  }
}

function trustedCertificates(options: VerifyInputOptions): Certificate[] {
  return [...options.trust.roots, ...options.trust.intermediates];
}

async function verifyCrlInput(
  input: Uint8Array | string,
  options: VerifyInputOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  try {
    const crl = parseCrl(input);
    const issuer = trustedCertificates(options).find((c) =>
      sameName({ der: c.subjectDer, name: c.subject }, { der: crl.issuerDer, name: crl.issuer }),
    );
    if (issuer === undefined) {
      throw new PkiError('crl.issuer_unknown', `no trusted CA named ${crl.issuer.text}`);
    }
    const problems = checkCrl(crl, issuer, options.at);
    const signatureValid = !problems.some((p) => p.code === 'crl.signature_invalid');
    const entry = await certificateEntry(issuer, signatureValid, options.at, options, [], problems);
    return { file, kind: 'crl', valid: entry.valid, signers: [entry.report] };
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return failed(file, 'crl', error);
  }
}

async function verifyOcspInput(
  input: Uint8Array | string,
  options: VerifyInputOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  try {
    const response = parseOcspResponse(input);
    if (response.responseStatus !== 'successful') {
      throw new PkiError('ocsp.unsuccessful', `the responder answered ${response.responseStatus}`);
    }
    const candidates = [...response.certs, ...trustedCertificates(options)];
    const responder = candidates.find((c) =>
      response.responderKeyHash !== undefined
        ? keyHash(c) === response.responderKeyHash
        : response.responderNameDer !== undefined &&
          response.responderName !== undefined &&
          sameName(
            { der: c.subjectDer, name: c.subject },
            { der: response.responderNameDer, name: response.responderName },
          ),
    );
    if (responder === undefined) {
      throw new PkiError('ocsp.responder_untrusted', 'the responder certificate is not known');
    }
    const signatureValid =
      response.signatureAlgorithm !== undefined &&
      response.tbs !== undefined &&
      response.signature !== undefined &&
      verifySignature(
        response.signatureAlgorithm,
        responder.spki,
        response.tbs,
        response.signature,
      );
    const errors = signatureValid
      ? []
      : [{ code: 'ocsp.signature_invalid', message: 'the OCSP response signature is invalid' }];
    const at = response.producedAt ?? options.at;
    const entry = await certificateEntry(
      responder,
      signatureValid,
      at,
      options,
      response.certs,
      errors,
    );
    return { file, kind: 'ocsp-response', valid: entry.valid, signers: [entry.report] };
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return failed(file, 'ocsp-response', error);
  }
}

/** Largest platform receipt read: a few kilobytes of JSON and a signature or two in practice. */
export const MAX_RECEIPT_BYTES = 1024 * 1024;

function receiptPart(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
    throw new PkiError('receipt.malformed', `platform.${name} is not base64`);
  }
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/**
 * Splits a receipt into what its token must stamp, the token and, in receipts of layout 1, the
 * platform's detached CMS over the canonical bytes of the body. A receipt with a Merkle path
 * (layout 3) has its token over the root the path folds the body's leaf to; one without (layouts
 * 1 and 2) over the canonical bytes themselves.
 */
function readReceipt(input: Uint8Array | string): {
  canonical: Uint8Array;
  covered: { data: Uint8Array } | { imprint: MessageImprint };
  signature: Uint8Array | undefined;
  token: Uint8Array;
} {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > MAX_RECEIPT_BYTES) {
    throw new PkiError('receipt.too_large', `a receipt is at most ${MAX_RECEIPT_BYTES} bytes`);
  }
  let receipt: unknown;
  let canonical: string;
  try {
    const text =
      typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    receipt = JSON.parse(text);
    if (typeof receipt !== 'object' || receipt === null || Array.isArray(receipt)) {
      throw new TypeError('not an object');
    }
    const body = Object.entries(receipt).filter(([key]) => key !== 'platform');
    canonical = canonicalJson(Object.fromEntries(body));
  } catch {
    throw new PkiError('receipt.malformed', 'a receipt is a JSON object');
  }
  const platform = (receipt as { platform?: unknown }).platform;
  if (typeof platform !== 'object' || platform === null) {
    throw new PkiError('receipt.malformed', 'the receipt has no platform signatures');
  }
  const parts = platform as { signature?: unknown; timestampToken?: unknown; merklePath?: unknown };
  const bytes = new TextEncoder().encode(canonical);
  return {
    canonical: bytes,
    covered:
      parts.merklePath === undefined
        ? { data: bytes }
        : { imprint: rootImprint(receiptRoot(bytes, parts.merklePath)) },
    signature:
      parts.signature === undefined ? undefined : receiptPart(parts.signature, 'signature'),
    token: receiptPart(parts.timestampToken, 'timestampToken'),
  };
}

function receiptRoot(canonical: Uint8Array, path: unknown): Uint8Array {
  if (!Array.isArray(path)) {
    throw new PkiError('receipt.malformed', 'platform.merklePath is a list of steps');
  }
  try {
    return rootOf(canonical, path as MerkleStep[]);
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    throw new PkiError('receipt.malformed', `platform.merklePath: ${error.message}`);
  }
}

/**
 * A platform receipt: the RFC 3161 token of the platform's receipt key over the canonical JSON
 * (RFC 8785) of the receipt without its `platform` member, directly or through the receipt's
 * Merkle path to its batch's root; a receipt of layout 1 also has the platform's CMS over the
 * same bytes, checked as well. The key is checked at the stamped time, so a receipt stays
 * verifiable after that key expires.
 */
async function verifyReceiptInput(
  input: Uint8Array | string,
  options: VerifyInputOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  try {
    const { canonical, covered, signature, token } = readReceipt(input);
    const stamp = verifyTimeStampToken(token, covered);
    if (stamp.tsaCertificate === undefined) {
      throw new PkiError('timestamp.no_tsa_certificate', 'the token does not carry its TSA');
    }
    const tsa = await certificateEntry(
      stamp.tsaCertificate,
      stamp.valid,
      stamp.time,
      options,
      [...stamp.certificates],
      stamp.errors,
    );
    const stamped = { ...tsa.report, timestamp: { time: iso(stamp.time), valid: stamp.valid } };
    if (signature === undefined) {
      return { file, kind: 'receipt', valid: tsa.valid, signers: [stamped] };
    }
    const platform = await verifyCms(signature, {
      ...options,
      content: canonical,
      at: stamp.time,
      purpose: undefined,
    });
    return {
      file,
      kind: 'receipt',
      valid: platform.valid && tsa.valid,
      signers: [...platform.signers, stamped],
      ...(platform.errors === undefined ? {} : { errors: platform.errors }),
    };
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    return failed(file, 'receipt', error);
  }
}

/** Verifies one input of any supported kind; never throws for bad input. */
export async function verifyInput(
  input: Uint8Array | string,
  options: VerifyInputOptions,
): Promise<VerificationReport> {
  const kind = detectKind(input);
  const file = options.file ?? null;
  switch (kind) {
    case 'cms':
      return verifyCms(input, options);
    case 'timestamp-token':
    case 'timestamp-response':
      return verifyTimestampInput(input, kind, options);
    case 'certificate':
      return verifyCertificateInput(input, options);
    case 'crl':
      return verifyCrlInput(input, options);
    case 'ocsp-response':
      return verifyOcspInput(input, options);
    case 'xml':
      return verifyXml(input, options);
    case 'receipt':
      return verifyReceiptInput(input, options);
    case 'pkcs12':
      return failed(file, kind, new PkiError('input.key_store', 'a key store is not a signature'));
    default:
      return failed(file, kind, new PkiError('input.unknown', 'not a recognised PKI object'));
  }
}

/** Largest file verifyFiles reads. */
export const MAX_VERIFY_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Verifies files one after another with shared options (trust store, revocation checker and
 * their caches). `contents` gives the signed content of detached signatures, by file path.
 */
export async function verifyFiles(
  paths: readonly string[],
  options: Omit<VerifyInputOptions, 'file' | 'content'> & {
    readonly contents?: Readonly<Record<string, Uint8Array>>;
    readonly content?: Uint8Array;
  },
): Promise<VerificationReport[]> {
  const reports: VerificationReport[] = [];
  for (const path of paths) {
    let bytes: Uint8Array;
    try {
      const info = await stat(path);
      if (info.size > MAX_VERIFY_FILE_BYTES) {
        throw new PkiError('input.too_large', `${path} is larger than the limit`);
      }
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      const pkiError =
        error instanceof PkiError
          ? error
          : new PkiError('input.unreadable', `cannot read ${path}: ${(error as Error).message}`);
      reports.push(failed(path, 'unknown', pkiError));
      continue;
    }
    const content = options.contents?.[path] ?? options.content;
    reports.push(await verifyInput(bytes, { ...options, file: path, content }));
  }
  return reports;
}
