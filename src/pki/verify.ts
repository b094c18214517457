// One call for the CLI and the API: verifies CMS messages completely (signatures, chain at a
// moment, revocation) into the report the `upp verify --json` command prints.
import type { Certificate } from './certificate.js';
import { checkCmsSignatures, parseCms } from './cms.js';
import type { PkiIssue, SignerCheck } from './cms.js';
import { PkiError } from './errors.js';
import { validatePath } from './path.js';
import type { PathResult } from './path.js';
import type { TrustedThirdParty, TrustStore } from './trust.js';

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

function certificateSummary(certificate: Certificate): NonNullable<SignerReport['certificate']> {
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

function timeIssues(certificate: Certificate, at: Date, signingTime?: Date): PkiIssue[] {
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

function addUnique(errors: PkiIssue[], more: readonly PkiIssue[]): void {
  for (const issue of more) {
    if (!errors.some((e) => e.code === issue.code)) errors.push(issue);
  }
}

async function revocationOf(
  options: CmsVerifyOptions,
  path: PathResult | undefined,
  errors: PkiIssue[],
): Promise<SignerReport['revocation']> {
  const none = { status: 'unknown' as const, source: 'none', revokedAt: null };
  const checker = options.revocation ?? 'none';
  if (checker === 'none') return none;
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
  const timestampOk = check.timestamp === undefined || check.timestamp.valid;
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

/**
 * Verifies a CMS message completely: every signer's signature, certificate path at `at`,
 * validity and revocation. `valid` holds only when every signer passes all of them.
 */
export async function verifyCms(
  input: Uint8Array | string,
  options: CmsVerifyOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  let checks: SignerCheck[];
  let carried: Certificate[];
  try {
    const cms = parseCms(input);
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
