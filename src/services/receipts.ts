// Receipts for accepted signed documents: when the platform received what, signed by whom, sealed
// with an RFC 3161 time-stamp token of the platform's own key so anyone can check it offline.
import { randomUUID } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json.js';
import { UppError } from '../domain/errors.js';
import { toAstanaIso } from '../domain/time.js';
import type { MerkleStep } from '../pki/batch-stamp.js';
import type { SignerReport, VerificationReport } from '../pki/verify.js';
import type { Queryable } from '../store/database.js';
import type { PlatformPki } from './pki.js';

/**
 * Names the receipt layout; a verifier reads `platform` and the canonical rest, whatever it is.
 * Layout 3 is stamped in batches: the token stamps the Merkle root of the receipts issued in the
 * same turn and `platform.merklePath` leads from this one's bytes to it. Layout 2 had a token over
 * the bytes themselves; layout 1 also carried a detached CMS by the same key over the same bytes.
 * `upp verify` checks all three.
 */
export const RECEIPT_FORMAT = 'upp.receipt/3';

export interface ReceiptSigner {
  commonName: string | null;
  iin: string | null;
  bin: string | null;
  serial: string;
  algorithm: string;
}

export interface ReceiptFile {
  position: number;
  name: string;
  size: number;
  sha256: string;
}

export interface ReceiptBody {
  format: typeof RECEIPT_FORMAT;
  receiptId: string;
  documentId: string;
  action: string;
  /** Astana time with its offset, e.g. 2026-03-02T09:00:00.000+05:00. */
  receivedAt: string;
  receivedAtUtc: string;
  /** SHA-256 (hex) of the canonical payload the signer signed. */
  sha256: string;
  files: ReceiptFile[];
  signer: ReceiptSigner;
}

export interface Receipt extends ReceiptBody {
  platform: {
    /**
     * Base64 of the RFC 3161 token of the platform's receipt key over the Merkle root of its
     * batch: one signature that says both that the platform issued these bytes and when.
     */
    timestampToken: string;
    /** From the leaf of the canonical JSON of the body (pki/batch-stamp.ts) up to that root. */
    merklePath: MerkleStep[];
  };
}

export type ReceiptPki = Pick<PlatformPki, 'stampInBatch'>;

export function receiptSigner(
  certificate: NonNullable<SignerReport['certificate']>,
): ReceiptSigner {
  return {
    commonName: certificate.subject.commonName,
    iin: certificate.subject.iin,
    bin: certificate.subject.bin,
    serial: certificate.serial,
    algorithm: certificate.algorithm,
  };
}

/** The bytes the platform signs and time-stamps: the receipt without its `platform` member. */
export function receiptBytes(receipt: ReceiptBody | Receipt): Uint8Array {
  const body = Object.entries(receipt).filter(([key]) => key !== 'platform');
  return new TextEncoder().encode(canonicalJson(Object.fromEntries(body)));
}

/** Seals a receipt body with the platform's batched time-stamp over its canonical bytes. */
export async function sealReceipt(pki: ReceiptPki, body: ReceiptBody): Promise<Receipt> {
  const stamp = await pki.stampInBatch(receiptBytes(body));
  return {
    ...body,
    platform: {
      timestampToken: Buffer.from(stamp.token).toString('base64'),
      merklePath: [...stamp.path],
    },
  };
}

interface SignedDocumentRow {
  action: string;
  payload_sha256: string;
  report: VerificationReport;
  received_at: Date;
}

/** What a receipt says of the document it is for, as the document was stored. */
export interface ReceivedDocument {
  id: string;
  action: string;
  /** SHA-256 (hex) as stored in signed_document.payload_sha256. */
  payloadSha256: string;
  receivedAt: Date;
  signer: NonNullable<SignerReport['certificate']>;
}

/**
 * Issues the receipt of a stored signed document (storeSignedDocument) inside the caller's
 * transaction, so a document and its receipt exist together or not at all. Any signed action
 * may call it; `files` lists the files the document covers, in order.
 */
export async function issueReceipt(
  tx: Queryable,
  pki: ReceiptPki,
  clock: { now(): Date },
  request: { documentId: string; files?: ReceiptFile[] },
): Promise<Receipt> {
  const found = await tx.query<SignedDocumentRow>(
    'SELECT action, payload_sha256, report, received_at FROM signed_document WHERE id = $1',
    [request.documentId],
  );
  const row = found.rows[0];
  const certificate = row?.report.signers[0]?.certificate;
  if (row === undefined || certificate === undefined || certificate === null) {
    throw new UppError('document.not_found', 404, 'no signed document to issue a receipt for');
  }
  const document = {
    id: request.documentId,
    action: row.action,
    payloadSha256: row.payload_sha256,
    receivedAt: row.received_at,
    signer: certificate,
  };
  return issueReceiptFor(tx, pki, clock, document, request.files);
}

/** The signed and time-stamped receipt of a document, not yet stored. */
export function receiptFor(
  pki: ReceiptPki,
  document: ReceivedDocument,
  files: ReceiptFile[] = [],
): Promise<Receipt> {
  return sealReceipt(pki, {
    format: RECEIPT_FORMAT,
    receiptId: randomUUID(),
    documentId: document.id,
    action: document.action,
    receivedAt: toAstanaIso(document.receivedAt),
    receivedAtUtc: document.receivedAt.toISOString(),
    sha256: document.payloadSha256,
    files,
    signer: receiptSigner(document.signer),
  });
}

/**
 * The same receipt for a document the caller has just stored in this transaction: what the row
 * holds is at hand, so it is not read back.
 */
export async function issueReceiptFor(
  tx: Queryable,
  pki: ReceiptPki,
  clock: { now(): Date },
  document: ReceivedDocument,
  files: ReceiptFile[] = [],
): Promise<Receipt> {
  const receipt = await receiptFor(pki, document, files);
  await tx.query(
    `INSERT INTO receipt (id, signed_document_id, receipt, issued_at) VALUES ($1, $2, $3, $4)`,
    [receipt.receiptId, document.id, JSON.stringify(receipt), clock.now()],
  );
  return receipt;
}

/** The receipt issued for a signed document, if any. */
export async function receiptOf(db: Queryable, documentId: string): Promise<Receipt | undefined> {
  const found = await db.query<{ receipt: Receipt }>(
    'SELECT receipt FROM receipt WHERE signed_document_id = $1',
    [documentId],
  );
  return found.rows[0]?.receipt;
}
