// OCSP (RFC 6960): requests with SHA-1 CertIDs and an optional nonce, parsing and checking of
// responses (responder authorisation, CertID, nonce, freshness), and a responder for the demo CA.

import { randomBytes } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import type { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  BasicOCSPResponse,
  OCSPResponse,
  OCSPResponseStatus,
  id_pkix_ocsp_basic,
  id_pkix_ocsp_nonce,
  type SingleResponse,
} from '@peculiar/asn1-ocsp';
import {
  digest,
  digestOidName,
  verifySignature,
  DIGEST_OIDS,
  type DigestName,
} from './algorithms.js';
import {
  parseCertificate,
  parseName,
  sameName,
  type Certificate,
  type DistinguishedName,
} from './certificate.js';
import { REVOCATION_REASONS, type RevocationReason } from './crl.js';
import {
  contentBytes,
  decodeOid,
  encodeBitString,
  encodeContext,
  encodeEnumerated,
  encodeGeneralizedTime,
  encodeInteger,
  encodeNull,
  encodeOctetString,
  encodeOid,
  encodeSequence,
  equalBytes,
  integerHex,
  normalSerialHex,
  readChildren,
  readTlv,
  TAG,
  tlvBytes,
  toHex,
  type Tlv,
} from './der.js';
import { PkiError } from './errors.js';
import { checkLink } from './path.js';
import { toDer } from './pem.js';

const CODE = 'ocsp.malformed';
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';
/** Largest OCSP message accepted (a response carries a certificate or two). */
export const MAX_OCSP_BYTES = 256 * 1024;
/** How long a response without nextUpdate stays usable after its thisUpdate. */
export const DEFAULT_OCSP_MAX_AGE_MS = 10 * 60 * 1000;

export type OcspResponseStatus =
  'successful' | 'malformedRequest' | 'internalError' | 'tryLater' | 'sigRequired' | 'unauthorized';

const RESPONSE_STATUS: Record<number, OcspResponseStatus> = {
  0: 'successful',
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

export interface CertIdValue {
  hash: DigestName;
  issuerNameHash: string;
  issuerKeyHash: string;
  serialHex: string;
}

export type CertStatusValue = 'good' | 'revoked' | 'unknown';

export interface OcspSingleResponse {
  certId: CertIdValue;
  status: CertStatusValue;
  revokedAt?: Date;
  reason?: RevocationReason;
  thisUpdate: Date;
  nextUpdate?: Date;
}

export interface OcspResponse {
  der: Uint8Array;
  responseStatus: OcspResponseStatus;
  /** The rest is present for successful responses only. */
  producedAt?: Date;
  responderName?: DistinguishedName;
  responderNameDer?: Uint8Array;
  responderKeyHash?: string;
  tbs?: Uint8Array;
  signatureAlgorithm?: AlgorithmIdentifier;
  signature?: Uint8Array;
  certs: Certificate[];
  responses: OcspSingleResponse[];
  /** Raw value of the nonce extension (RFC 8954: an OCTET STRING holding the nonce). */
  nonce?: Uint8Array;
}

function malformed(message: string): PkiError {
  return new PkiError(CODE, message);
}

/** SHA-1 (or another digest) of the key bits, as CertID and ResponderID byKey use. */
export function keyHash(cert: Certificate, hash: DigestName = 'sha1'): string {
  return toHex(digest(hash, new Uint8Array(cert.spki.subjectPublicKey)));
}

export function certIdFor(
  cert: Certificate,
  issuer: Certificate,
  hash: DigestName = 'sha1',
): CertIdValue {
  return {
    hash,
    issuerNameHash: toHex(digest(hash, issuer.subjectDer)),
    issuerKeyHash: keyHash(issuer, hash),
    serialHex: cert.serialHex,
  };
}

function certIdDer(id: CertIdValue): Uint8Array {
  return encodeSequence(
    encodeSequence(encodeOid(DIGEST_OIDS[id.hash]), encodeNull()),
    encodeOctetString(Buffer.from(id.issuerNameHash, 'hex')),
    encodeOctetString(Buffer.from(id.issuerKeyHash, 'hex')),
    encodeInteger(id.serialHex),
  );
}

function nonceExtension(value: Uint8Array): Uint8Array {
  return encodeSequence(encodeOid(id_pkix_ocsp_nonce), encodeOctetString(value));
}

export interface OcspRequestInput {
  cert: Certificate;
  issuer: Certificate;
  /** true: a random 16-byte nonce; bytes: that nonce; absent or false: none. */
  nonce?: boolean | Uint8Array;
  hash?: DigestName;
}

export interface OcspRequest {
  der: Uint8Array;
  certId: CertIdValue;
  /** Raw nonce extension value sent, to compare with the response's. */
  nonce?: Uint8Array;
}

/** An unsigned OCSP request for one certificate (RFC 6960 section 4.1). */
export function createOcspRequest(input: OcspRequestInput): OcspRequest {
  const certId = certIdFor(input.cert, input.issuer, input.hash ?? 'sha1');
  const nonceBytes =
    input.nonce === true
      ? new Uint8Array(randomBytes(16))
      : input.nonce instanceof Uint8Array
        ? input.nonce
        : undefined;
  const nonce = nonceBytes ? encodeOctetString(nonceBytes) : undefined;
  const extensions = nonce ? [encodeContext(2, encodeSequence(nonceExtension(nonce)))] : [];
  const tbs = encodeSequence(encodeSequence(encodeSequence(certIdDer(certId))), ...extensions);
  const der = encodeSequence(tbs);
  return nonce ? { der, certId, nonce } : { der, certId };
}

function certIdFromAsn(single: SingleResponse): CertIdValue {
  const id = single.certID;
  return {
    hash: digestOidName(id.hashAlgorithm.algorithm),
    issuerNameHash: toHex(new Uint8Array(id.issuerNameHash.buffer)),
    issuerKeyHash: toHex(new Uint8Array(id.issuerKeyHash.buffer)),
    serialHex: integerHex(new Uint8Array(id.serialNumber)),
  };
}

function singleResponse(single: SingleResponse): OcspSingleResponse {
  const status = single.certStatus;
  const result: OcspSingleResponse = {
    certId: certIdFromAsn(single),
    status: status.revoked ? 'revoked' : status.good === null ? 'good' : 'unknown',
    thisUpdate: validDate(single.thisUpdate),
  };
  if (status.revoked) {
    result.revokedAt = validDate(status.revoked.revocationTime);
    const code = status.revoked.revocationReason?.reason;
    const reason = code === undefined ? undefined : REVOCATION_REASONS[code];
    if (reason) result.reason = reason;
  } else if (status.good !== null && status.unknown !== null) {
    throw malformed('certStatus is none of good, revoked, unknown');
  }
  if (single.nextUpdate) result.nextUpdate = validDate(single.nextUpdate);
  return result;
}

function validDate(date: Date): Date {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw malformed('invalid time');
  return date;
}

/** Parses an OCSPResponse from DER or base64; PkiError('ocsp.malformed') on bad input. */
export function parseOcspResponse(input: Uint8Array | string): OcspResponse {
  const source = toDer(input, undefined, CODE);
  if (source.length > MAX_OCSP_BYTES) throw malformed('OCSP response too large');
  try {
    return readOcspResponse(source);
  } catch (cause) {
    if (cause instanceof PkiError && cause.code === CODE) throw cause;
    throw new PkiError(CODE, 'not a valid OCSP response', { cause });
  }
}

function readOcspResponse(source: Uint8Array): OcspResponse {
  const outer = readTlv(source, 0, source.length, CODE);
  const der = Uint8Array.from(source.subarray(0, outer.end));
  const asn = AsnConvert.parse(der, OCSPResponse);
  const responseStatus = RESPONSE_STATUS[asn.responseStatus];
  if (!responseStatus) throw malformed('unknown OCSP response status');
  if (asn.responseStatus !== OCSPResponseStatus.successful) {
    return { der, responseStatus, certs: [], responses: [] };
  }
  const bytes = asn.responseBytes;
  if (!bytes || bytes.responseType !== id_pkix_ocsp_basic) {
    throw malformed('successful response without a basic OCSP response');
  }
  const basicDer = new Uint8Array(bytes.response.buffer);
  const basic = AsnConvert.parse(basicDer, BasicOCSPResponse);
  const basicTlv = readTlv(basicDer, 0, basicDer.length, CODE);
  const [tbsTlv, , signatureTlv, certsTlv] = readChildren(basicDer, basicTlv, CODE);
  if (!tbsTlv || !signatureTlv || signatureTlv.tag !== TAG.bitString) {
    throw malformed('incomplete basic OCSP response');
  }
  const data = basic.tbsResponseData;
  const response: OcspResponse = {
    der,
    responseStatus,
    producedAt: validDate(data.producedAt),
    tbs: Uint8Array.from(tlvBytes(basicDer, tbsTlv)),
    signatureAlgorithm: basic.signatureAlgorithm,
    signature: Uint8Array.from(contentBytes(basicDer, signatureTlv).subarray(1)),
    certs: certsTlv ? embeddedCertificates(basicDer, certsTlv) : [],
    responses: data.responses.map(singleResponse),
  };
  const responderTlv = responderIdTlv(basicDer, tbsTlv);
  if (responderTlv.tag === 0xa1) {
    const [nameTlv] = readChildren(basicDer, responderTlv, CODE);
    if (!nameTlv || !data.responderID.byName) throw malformed('empty responder name');
    response.responderNameDer = Uint8Array.from(tlvBytes(basicDer, nameTlv));
    response.responderName = parseName(response.responderNameDer);
  } else if (data.responderID.byKey) {
    response.responderKeyHash = toHex(new Uint8Array(data.responderID.byKey.buffer));
  } else {
    throw malformed('responder ID is neither a name nor a key hash');
  }
  const nonce = data.responseExtensions?.find((item) => item.extnID === id_pkix_ocsp_nonce);
  if (nonce) response.nonce = new Uint8Array(nonce.extnValue.buffer);
  return response;
}

function responderIdTlv(bytes: Uint8Array, tbs: Tlv): Tlv {
  const parts = readChildren(bytes, tbs, CODE);
  const responder = parts[0]?.tag === 0xa0 ? parts[1] : parts[0];
  if (!responder || (responder.tag !== 0xa1 && responder.tag !== 0xa2)) {
    throw malformed('missing responder ID');
  }
  return responder;
}

function embeddedCertificates(bytes: Uint8Array, wrapper: Tlv): Certificate[] {
  if (wrapper.tag !== 0xa0) throw malformed('unexpected field after the signature');
  const [list] = readChildren(bytes, wrapper, CODE);
  if (!list || list.tag !== TAG.sequence) throw malformed('certs are not a SEQUENCE');
  return readChildren(bytes, list, CODE).map((item) => parseCertificate(tlvBytes(bytes, item)));
}

export interface OcspCheckOptions {
  /** The moment the status must hold at. */
  at: Date;
  /** Raw nonce sent in the request (OcspRequest.nonce); it must come back unchanged. */
  nonce?: Uint8Array;
  /** When a nonce was sent, accept a response without one (NCA test responses have none). */
  allowMissingNonce?: boolean;
  /** Usable age of a response without nextUpdate, counted from thisUpdate. */
  maxAgeMs?: number;
}

export interface OcspResult {
  status: CertStatusValue;
  revokedAt?: Date;
  reason?: RevocationReason;
  thisUpdate: Date;
  nextUpdate?: Date;
  producedAt: Date;
  /** The certificate whose key signed the response (the CA itself or its delegated responder). */
  responder: Certificate;
}

function fail(code: string, message: string): never {
  throw new PkiError(code, message);
}

function responderMatches(response: OcspResponse, cert: Certificate): boolean {
  if (response.responderKeyHash !== undefined) return keyHash(cert) === response.responderKeyHash;
  if (!response.responderName || !response.responderNameDer) return false;
  return sameName(
    { der: response.responderNameDer, name: response.responderName },
    { der: cert.subjectDer, name: cert.subject },
  );
}

/**
 * The certificate authorised to sign this response for `issuer`: the CA itself, or a responder
 * certificate issued by it with id-kp-OCSPSigning, valid when the response was produced
 * (id-pkix-ocsp-nocheck on it is accepted: its own revocation is not checked).
 */
function authorisedResponder(response: OcspResponse, issuer: Certificate): Certificate {
  if (responderMatches(response, issuer)) return issuer;
  const producedAt = response.producedAt as Date;
  const reasons: string[] = [];
  for (const candidate of response.certs.filter((item) => responderMatches(response, item))) {
    if (!checkLink(candidate, issuer).ok) {
      reasons.push('responder certificate is not issued by the CA');
    } else if (!candidate.extKeyUsage.includes(OCSP_SIGNING)) {
      reasons.push('responder certificate lacks id-kp-OCSPSigning');
    } else if (producedAt < candidate.notBefore || producedAt > candidate.notAfter) {
      reasons.push('responder certificate was not valid when the response was produced');
    } else {
      return candidate;
    }
  }
  return fail(
    'ocsp.responder_untrusted',
    reasons[0] ?? 'the response is signed neither by the CA nor by a responder it authorised',
  );
}

/** The "revoked at 1970-01-01" answer NCA gives for a certificate it did not issue. */
function meansNotIssued(single: OcspSingleResponse): boolean {
  return single.status === 'revoked' && single.revokedAt?.getTime() === 0;
}

/**
 * Checks an OCSP response for `cert` issued by `issuer` and gives the status at `options.at`.
 * Throws PkiError with ocsp.unsuccessful, ocsp.responder_untrusted, ocsp.signature_invalid,
 * ocsp.cert_mismatch, ocsp.nonce_mismatch, ocsp.stale or algorithm.unsupported.
 */
export function checkOcspResponse(
  response: OcspResponse,
  cert: Certificate,
  issuer: Certificate,
  options: OcspCheckOptions,
): OcspResult {
  if (response.responseStatus !== 'successful') {
    fail('ocsp.unsuccessful', `OCSP responder answered ${response.responseStatus}`);
  }
  const responder = authorisedResponder(response, issuer);
  const algorithm = response.signatureAlgorithm as AlgorithmIdentifier;
  const signed = response.tbs as Uint8Array;
  if (!verifySignature(algorithm, responder.spki, signed, response.signature as Uint8Array)) {
    fail('ocsp.signature_invalid', 'OCSP response signature is invalid');
  }
  if (options.nonce) {
    if (!response.nonce) {
      if (!options.allowMissingNonce) fail('ocsp.nonce_mismatch', 'response carries no nonce');
    } else if (!equalBytes(response.nonce, options.nonce)) {
      fail('ocsp.nonce_mismatch', 'response nonce differs from the request nonce');
    }
  }
  const single = response.responses.find((item) => {
    let expected: CertIdValue;
    try {
      expected = certIdFor(cert, issuer, item.certId.hash);
    } catch {
      return false;
    }
    return (
      expected.issuerNameHash === item.certId.issuerNameHash &&
      expected.issuerKeyHash === item.certId.issuerKeyHash &&
      normalSerialHex(item.certId.serialHex) === cert.serialHex
    );
  });
  if (!single) fail('ocsp.cert_mismatch', 'the response is not about this certificate');
  const at = options.at;
  if (single.thisUpdate < at) {
    const limit = single.nextUpdate
      ? single.nextUpdate.getTime()
      : single.thisUpdate.getTime() + (options.maxAgeMs ?? DEFAULT_OCSP_MAX_AGE_MS);
    if (at.getTime() > limit) {
      fail('ocsp.stale', `response of ${single.thisUpdate.toISOString()} is too old`);
    }
  }
  const result: OcspResult = {
    status: meansNotIssued(single) ? 'unknown' : single.status,
    thisUpdate: single.thisUpdate,
    producedAt: response.producedAt as Date,
    responder,
  };
  if (single.nextUpdate) result.nextUpdate = single.nextUpdate;
  if (result.status === 'revoked' && single.revokedAt) {
    if (single.revokedAt > at) {
      result.status = 'good';
    } else {
      result.revokedAt = single.revokedAt;
      if (single.reason) result.reason = single.reason;
    }
  }
  return result;
}

export interface ParsedOcspRequest {
  certIds: { raw: Uint8Array; value?: CertIdValue }[];
  nonce?: Uint8Array;
}

/** Reads an OCSP request (for the demo responder). PkiError('ocsp.malformed') on bad input. */
export function parseOcspRequest(input: Uint8Array): ParsedOcspRequest {
  try {
    const outer = readTlv(input, 0, input.length, CODE);
    const [tbs] = readChildren(input, outer, CODE);
    if (outer.tag !== TAG.sequence || !tbs || tbs.tag !== TAG.sequence) {
      throw malformed('not an OCSP request');
    }
    const parts = readChildren(input, tbs, CODE);
    const list = parts.find((item) => item.tag === TAG.sequence);
    if (!list) throw malformed('no request list');
    const certIds = readChildren(input, list, CODE).map((request) => {
      const [idTlv] = readChildren(input, request, CODE);
      if (!idTlv || idTlv.tag !== TAG.sequence) throw malformed('request without CertID');
      const raw = Uint8Array.from(tlvBytes(input, idTlv));
      return { raw, value: readCertId(input, idTlv) };
    });
    const request: ParsedOcspRequest = { certIds };
    const extensionsTlv = parts.find((item) => item.tag === 0xa2);
    if (extensionsTlv) {
      const [extensions] = readChildren(input, extensionsTlv, CODE);
      for (const extension of extensions ? readChildren(input, extensions, CODE) : []) {
        const [oidTlv, ...rest] = readChildren(input, extension, CODE);
        const valueTlv = rest[rest.length - 1];
        if (!oidTlv || !valueTlv || oidTlv.tag !== TAG.oid) continue;
        if (decodeOid(contentBytes(input, oidTlv)) === id_pkix_ocsp_nonce) {
          request.nonce = Uint8Array.from(contentBytes(input, valueTlv));
        }
      }
    }
    return request;
  } catch (cause) {
    if (cause instanceof PkiError && cause.code === CODE) throw cause;
    throw new PkiError(CODE, 'not a valid OCSP request', { cause });
  }
}

function readCertId(bytes: Uint8Array, tlv: Tlv): CertIdValue | undefined {
  const [algTlv, nameHash, keyHashTlv, serial] = readChildren(bytes, tlv, CODE);
  if (!algTlv || !nameHash || !keyHashTlv || !serial) throw malformed('incomplete CertID');
  const [oidTlv] = readChildren(bytes, algTlv, CODE);
  if (!oidTlv || oidTlv.tag !== TAG.oid || serial.tag !== TAG.integer) {
    throw malformed('malformed CertID');
  }
  let hash: DigestName;
  try {
    hash = digestOidName(decodeOid(contentBytes(bytes, oidTlv)));
  } catch {
    return undefined;
  }
  return {
    hash,
    issuerNameHash: toHex(contentBytes(bytes, nameHash)),
    issuerKeyHash: toHex(contentBytes(bytes, keyHashTlv)),
    serialHex: integerHex(contentBytes(bytes, serial)),
  };
}

export interface StatusAnswer {
  status: CertStatusValue;
  revokedAt?: Date;
  reason?: RevocationReason;
}

export interface SignOcspResponseInput {
  responderCert: Certificate;
  issuer: Certificate;
  sign: (tbs: Uint8Array) => Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  request: Uint8Array;
  statusOf: (serialHex: string) => StatusAnswer;
  producedAt: Date;
  nextUpdate?: Date;
}

/** An OCSPResponse that carries only an error status (no signature). */
export function ocspErrorResponse(status: Exclude<OcspResponseStatus, 'successful'>): Uint8Array {
  const code = Number(
    Object.entries(RESPONSE_STATUS).find(([, name]) => name === status)?.[0] ?? 2,
  );
  return encodeSequence(encodeEnumerated(code));
}

function certStatusDer(answer: StatusAnswer): Uint8Array {
  if (answer.status === 'good') return Uint8Array.of(0x80, 0);
  if (answer.status === 'unknown') return Uint8Array.of(0x82, 0);
  const reasonCode = Object.entries(REVOCATION_REASONS).find(([, r]) => r === answer.reason)?.[0];
  return encodeContext(
    1,
    new Uint8Array([
      ...encodeGeneralizedTime(answer.revokedAt ?? new Date(0)),
      ...(reasonCode === undefined ? [] : encodeContext(0, encodeEnumerated(Number(reasonCode)))),
    ]),
  );
}

/**
 * Answers an OCSP request as the demo CA's responder: one SingleResponse per requested CertID
 * (unknown for another issuer), the request nonce echoed, responder ID by key hash, and the
 * responder certificate included. A request that does not parse gets malformedRequest.
 */
export function signOcspResponse(input: SignOcspResponseInput): Uint8Array {
  let request: ParsedOcspRequest;
  try {
    request = parseOcspRequest(input.request);
  } catch {
    return ocspErrorResponse('malformedRequest');
  }
  if (request.certIds.length === 0) return ocspErrorResponse('malformedRequest');
  const thisUpdate = encodeGeneralizedTime(input.producedAt);
  const nextUpdate = input.nextUpdate
    ? [encodeContext(0, encodeGeneralizedTime(input.nextUpdate))]
    : [];
  const singles = request.certIds.map(({ raw, value }) => {
    const own =
      value &&
      value.issuerNameHash === toHex(digest(value.hash, input.issuer.subjectDer)) &&
      value.issuerKeyHash === keyHash(input.issuer, value.hash);
    const answer: StatusAnswer = own ? input.statusOf(value.serialHex) : { status: 'unknown' };
    return encodeSequence(raw, certStatusDer(answer), thisUpdate, ...nextUpdate);
  });
  const extensions = request.nonce
    ? [encodeContext(1, encodeSequence(nonceExtension(request.nonce)))]
    : [];
  const tbs = encodeSequence(
    encodeContext(2, encodeOctetString(Buffer.from(keyHash(input.responderCert), 'hex'))),
    encodeGeneralizedTime(input.producedAt),
    encodeSequence(...singles),
    ...extensions,
  );
  const algorithm = new Uint8Array(AsnConvert.serialize(input.signatureAlgorithm));
  const certs =
    input.responderCert.fingerprintSha256 === input.issuer.fingerprintSha256
      ? []
      : [encodeContext(0, encodeSequence(input.responderCert.der))];
  const basic = encodeSequence(tbs, algorithm, encodeBitString(input.sign(tbs)), ...certs);
  return encodeSequence(
    encodeEnumerated(0),
    encodeContext(0, encodeSequence(encodeOid(id_pkix_ocsp_basic), encodeOctetString(basic))),
  );
}
