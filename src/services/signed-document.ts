// The signed-action pipeline's common part: a payload and its CMS signature are checked in a fixed
// order (structure, digest, signature, path, revocation, key purpose), the single-use nonce in the
// payload is spent, and the document is stored with its verification report.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import { UppError } from '../domain/errors.js';
import type { CertificateRole, SignerIdentity } from '../domain/participants.js';
import { parseCms } from '../pki/cms.js';
import type { ParsedCms } from '../pki/cms.js';
import { PkiError } from '../pki/errors.js';
import type { SignerReport, VerificationReport } from '../pki/verify.js';
import type { Queryable } from '../store/database.js';

/** What the pipeline needs of the platform's PKI (services/pki.ts provides it). */
export interface SignatureVerifier {
  verifyCms(
    cms: Uint8Array | string | ParsedCms,
    options: { content?: Uint8Array; at: Date; purpose?: 'sign' | 'auth' },
  ): Promise<VerificationReport>;
}

export const NONCE_LIFETIME_MS = 5 * 60 * 1000;
/** Base64 of a CMS message: NCALayer's signatures are a few kilobytes; allow for chains. */
export const MAX_SIGNATURE_BASE64 = 256 * 1024;

export interface SignedRequest {
  payload: Record<string, unknown>;
  /** CMS, base64 or PEM: attached (its content must be the canonical payload) or detached. */
  signature: string;
}

export interface VerifiedSignature {
  canonical: Uint8Array;
  payloadSha256: string;
  cms: Uint8Array;
  report: VerificationReport;
  signer: NonNullable<SignerReport['certificate']>;
  identity: SignerIdentity;
}

/** The problem codes of the signature checks that are the client's fault, with HTTP statuses. */
function statusOf(code: string): number {
  if (code.startsWith('cms.') || code.startsWith('input.')) return 400;
  if (code === 'revocation.unavailable') return 503;
  return 422;
}

function refusal(code: string, message: string): UppError {
  return new UppError(code, statusOf(code), message);
}

function decodeSignature(signature: string): Uint8Array {
  if (signature.length > MAX_SIGNATURE_BASE64) {
    throw refusal('cms.too_large', 'the signature is larger than a signature can be');
  }
  const body = signature.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length === 0) {
    throw refusal('cms.malformed', 'the signature is not base64 or PEM');
  }
  return new Uint8Array(Buffer.from(body, 'base64'));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/**
 * Verifies that `signature` signs exactly the canonical form of `payload`, at `at`, by one signer
 * whose certificate has the given key purpose. Throws a UppError at the first failing check.
 */
export async function verifySignedRequest(
  verifier: SignatureVerifier,
  request: SignedRequest,
  at: Date,
  purpose: 'sign' | 'auth',
): Promise<VerifiedSignature> {
  const canonical = new TextEncoder().encode(canonicalJson(request.payload));
  const cms = decodeSignature(request.signature);
  let parsed: ParsedCms;
  try {
    parsed = parseCms(cms);
    if (parsed.signers.length !== 1) {
      throw refusal('signature.signer_count', 'a document here is signed by exactly one signer');
    }
  } catch (error) {
    if (error instanceof PkiError) throw refusal(error.code, error.message);
    throw error;
  }
  const attached = parsed.content;
  if (attached !== undefined && !sameBytes(attached, canonical)) {
    throw refusal('document.content_mismatch', 'the signed content is not the canonical payload');
  }
  const report = await verifier.verifyCms(parsed, {
    ...(attached === undefined ? { content: canonical } : {}),
    at,
    purpose,
  });
  const signer = report.signers[0];
  const certificate = parsed.certificates.find((c) => c.serialHex === signer?.certificate?.serial);
  const firstError = report.errors?.[0] ?? signer?.errors[0];
  if (!report.valid || signer === undefined || signer.certificate === null) {
    const code = firstError?.code ?? 'signature.invalid';
    throw refusal(code, firstError?.message ?? 'the signature is not valid');
  }
  return {
    canonical,
    payloadSha256: createHash('sha256').update(canonical).digest('hex'),
    cms,
    report,
    signer: signer.certificate,
    identity: {
      key: identityKey(signer.certificate.subject.iin, certificate?.subject.text ?? ''),
      iin: signer.certificate.subject.iin ?? undefined,
      bin: signer.certificate.subject.bin ?? undefined,
      roles: signer.certificate.roles as CertificateRole[],
      keyPurpose: signer.certificate.keyPurpose as SignerIdentity['keyPurpose'],
    },
  };
}

/** `iin:<IIN>` for a Kazakhstan certificate, otherwise a hash of the subject name. */
export function identityKey(iin: string | null | undefined, subjectName: string): string {
  if (iin !== null && iin !== undefined) return `iin:${iin}`;
  return `subject:${createHash('sha256').update(subjectName).digest('hex')}`;
}

export async function issueNonce(
  db: Queryable,
  purpose: 'login' | 'action',
  now: Date,
): Promise<{ nonce: string; expiresAt: Date }> {
  const nonce = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + NONCE_LIFETIME_MS);
  await db.query(
    'INSERT INTO nonce (value, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4)',
    [nonce, purpose, now, expiresAt],
  );
  return { nonce, expiresAt };
}

/** A nonce as its spending UPDATE answers it: no row when it is unknown or already used. */
export interface SpentNonce {
  expires_at: Date;
  purpose: string;
}

/** The statement that spends a nonce at an instant (given parameters), answering SpentNonce. */
export function spendNonceSql(value: string, at: string): string {
  return `UPDATE nonce SET used_at = ${at} WHERE value = ${value} AND used_at IS NULL
    RETURNING expires_at, purpose`;
}

/** The nonce field of a signed payload, as a nonce can be. */
export function nonceOf(value: unknown): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new UppError('nonce.missing', 400, 'the signed payload needs a nonce from the server');
  }
  return value;
}

/** Refuses a nonce that was not spent just now: unknown, used, for another purpose, expired. */
export function checkSpentNonce(
  row: SpentNonce | null | undefined,
  purpose: 'login' | 'action',
  now: Date,
): void {
  if (row === undefined || row === null) {
    throw new UppError('nonce.unknown_or_used', 409, 'this nonce is unknown or was already used');
  }
  if (row.purpose !== purpose) {
    throw new UppError('nonce.wrong_purpose', 400, `this nonce is not for ${purpose}`);
  }
  if (new Date(row.expires_at).getTime() <= now.getTime()) {
    throw new UppError('nonce.expired', 409, 'this nonce has expired; ask for a new one');
  }
}

/** Spends a nonce inside the caller's transaction: a second use, or a late one, is refused. */
export async function spendNonce(
  tx: Queryable,
  value: unknown,
  purpose: 'login' | 'action',
  now: Date,
): Promise<void> {
  const spent = await tx.query<SpentNonce>(spendNonceSql('$1', '$2'), [nonceOf(value), now]);
  checkSpentNonce(spent.rows[0], purpose, now);
}

export interface StoredDocument {
  id: string;
  receivedAt: Date;
}

export async function storeSignedDocument(
  tx: Queryable,
  action: string,
  participantId: string | null,
  request: SignedRequest,
  verified: VerifiedSignature,
  receivedAt: Date,
): Promise<StoredDocument> {
  const id = randomUUID();
  await tx.query(
    `INSERT INTO signed_document (id, action, participant_id, signer_iin, signer_bin, payload,
       payload_sha256, cms, report, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      id,
      action,
      participantId,
      verified.identity.iin ?? null,
      verified.identity.bin ?? null,
      JSON.stringify(request.payload),
      verified.payloadSha256,
      Buffer.from(verified.cms),
      JSON.stringify(verified.report),
      receivedAt,
    ],
  );
  return { id, receivedAt };
}

/** The payload's action must be the route's: a signature for one action cannot serve another. */
export function expectAction(payload: Record<string, unknown>, action: string): void {
  if (payload.action !== action) {
    throw new UppError(
      'document.wrong_action',
      400,
      `the signed payload must say action ${action}`,
    );
  }
}

/** A text field of a signed payload; the route's schema has checked it, a direct caller may not. */
export function payloadText(payload: Record<string, unknown>, field: string): string {
  const value = payload[field];
  if (typeof value !== 'string') throw new UppError('document.invalid', 400, `${field} is needed`);
  return value;
}

/** An ISO 8601 instant of a signed payload: undefined when absent, unless it is required. */
export function payloadInstant(
  payload: Record<string, unknown>,
  field: string,
  presence: 'required',
): Date;
export function payloadInstant(payload: Record<string, unknown>, field: string): Date | undefined;
export function payloadInstant(
  payload: Record<string, unknown>,
  field: string,
  presence?: 'required',
): Date | undefined {
  const value = payload[field];
  if (value === undefined && presence === undefined) return undefined;
  const instant = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(instant.getTime())) {
    throw new UppError('document.invalid', 400, `${field} must be an ISO 8601 instant`);
  }
  return instant;
}
