// One call for the CLI and the API on signed XML: every ds:Signature checked, then each signer's
// certificate path at a moment and revocation, in the report shape verifyCms produces.
import type { Certificate } from '../certificate.js';
import { PkiError } from '../errors.js';
import { validatePath, type PathResult } from '../path.js';
import type { PkiIssue } from '../cms.js';
import {
  addUnique,
  certificateSummary,
  revocationOf,
  timeIssues,
  type CmsVerifyOptions,
  type SignerReport,
  type VerificationReport,
} from '../verify.js';
import { checkXmlSignatures, type XmlCheckOptions, type XmlSignatureCheck } from './dsig.js';

export interface XmlVerifyOptions extends Omit<CmsVerifyOptions, 'content'> {
  readonly limits?: XmlCheckOptions['limits'];
  /** Certificates to find signers among besides those in KeyInfo. */
  readonly certificates?: readonly Certificate[];
}

async function signerReport(
  check: XmlSignatureCheck,
  options: XmlVerifyOptions,
): Promise<{ report: SignerReport; valid: boolean }> {
  const errors: PkiIssue[] = [...check.errors];
  const certificate = check.certificate;
  let path: PathResult | undefined;
  let timeValid = false;
  if (certificate !== undefined) {
    // XMLDSig as Kalkan makes it has no signing time: validity is judged at `at` alone.
    const issues = timeIssues(certificate, options.at);
    timeValid = issues.length === 0;
    const intermediates = [...check.certificates, ...(options.certificates ?? [])].filter(
      (c) => c !== certificate,
    );
    path = await validatePath(certificate, {
      trust: options.trust,
      intermediates,
      at: options.at,
      ...(options.ttp ? { ttp: options.ttp } : {}),
      ...(options.purpose ? { purpose: options.purpose } : {}),
    });
    addUnique(errors, issues);
    addUnique(errors, path.errors);
  }
  const revocation = await revocationOf(options, path, errors);
  const valid = check.signatureValid && timeValid && path?.trusted === true && errors.length === 0;
  return {
    valid,
    report: {
      signatureValid: check.signatureValid,
      timeValid,
      signingTime: null,
      timestamp: null,
      certificate: certificate ? certificateSummary(certificate) : null,
      chain: { trusted: path?.trusted ?? false, anchor: path?.anchor ?? null },
      revocation,
      errors,
    },
  };
}

/**
 * Verifies signed XML completely: each ds:Signature (references, SignatureValue), then each
 * signer's certificate path and validity at `at` and revocation. `valid` holds only when every
 * signature passes all of them. Unreadable input gives `valid: false` with the reason in `errors`.
 */
export async function verifyXml(
  input: string | Uint8Array,
  options: XmlVerifyOptions,
): Promise<VerificationReport> {
  const file = options.file ?? null;
  let checks: XmlSignatureCheck[];
  try {
    checks = checkXmlSignatures(input, {
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.certificates ? { certificates: options.certificates } : {}),
    });
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    const errors = [{ code: error.code, message: error.message }];
    return { file, kind: 'xml', valid: false, signers: [], errors };
  }
  const results = await Promise.all(checks.map((check) => signerReport(check, options)));
  return {
    file,
    kind: 'xml',
    valid: results.length > 0 && results.every((r) => r.valid),
    signers: results.map((r) => r.report),
  };
}
