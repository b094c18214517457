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
  bytesEqual,
  der,
  integerHex,
  normalSerialHex,
  readDer,
  readOid,
  TAG,
  toHex,
  type BerNode,
} from './ber.js';
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
  return der.sequence(
    der.sequence(der.oid(DIGEST_OIDS[id.hash]), der.null()),
    der.octetString(Buffer.from(id.issuerNameHash, 'hex')),
    der.octetString(Buffer.from(id.issuerKeyHash, 'hex')),
    der.serial(id.serialHex),
  );
}

function nonceExtension(value: Uint8Array): Uint8Array {
  return der.sequence(der.oid(id_pkix_ocsp_nonce), der.octetString(value));
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
  const nonce = nonceBytes ? der.octetString(nonceBytes) : undefined;
  const extensions = nonce ? [der.explicit(2, der.sequence(nonceExtension(nonce)))] : [];
  const tbs = der.sequence(der.sequence(der.sequence(certIdDer(certId))), ...extensions);
  const encoded = der.sequence(tbs);
  return nonce ? { der: encoded, certId, nonce } : { der: encoded, certId };
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
  const encoded = Uint8Array.from(readDer(source, CODE).bytes);
  const asn = AsnConvert.parse(encoded, OCSPResponse);
  const responseStatus = RESPONSE_STATUS[asn.responseStatus];
  if (!responseStatus) throw malformed('unknown OCSP response status');
  if (asn.responseStatus !== OCSPResponseStatus.successful) {
    return { der: encoded, responseStatus, certs: [], responses: [] };
  }
  const bytes = asn.responseBytes;
  if (!bytes || bytes.responseType !== id_pkix_ocsp_basic) {
    throw malformed('successful response without a basic OCSP response');
  }
  const basicDer = new Uint8Array(bytes.response.buffer);
  const basic = AsnConvert.parse(basicDer, BasicOCSPResponse);
  const [tbsNode, , signatureNode, certsNode] = readDer(basicDer, CODE).children;
  if (!tbsNode || !signatureNode || signatureNode.tag !== TAG.bitString) {
    throw malformed('incomplete basic OCSP response');
  }
  const data = basic.tbsResponseData;
  const response: OcspResponse = {
    der: encoded,
    responseStatus,
    producedAt: validDate(data.producedAt),
    tbs: Uint8Array.from(tbsNode.bytes),
    signatureAlgorithm: basic.signatureAlgorithm,
    signature: Uint8Array.from(signatureNode.value.subarray(1)),
    certs: certsNode ? embeddedCertificates(certsNode) : [],
    responses: data.responses.map(singleResponse),
  };
  const responderNode = responderIdNode(tbsNode);
  if (responderNode.tag === 0xa1) {
    const [nameNode] = responderNode.children;
    if (!nameNode || !data.responderID.byName) throw malformed('empty responder name');
    response.responderNameDer = Uint8Array.from(nameNode.bytes);
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

function responderIdNode(tbs: BerNode): BerNode {
  const parts = tbs.children;
  const responder = parts[0]?.tag === 0xa0 ? parts[1] : parts[0];
  if (!responder || (responder.tag !== 0xa1 && responder.tag !== 0xa2)) {
    throw malformed('missing responder ID');
  }
  return responder;
}

function embeddedCertificates(wrapper: BerNode): Certificate[] {
  if (wrapper.tag !== 0xa0) throw malformed('unexpected field after the signature');
  const [list] = wrapper.children;
  if (!list || list.tag !== TAG.sequence) throw malformed('certs are not a SEQUENCE');
  return list.children.map((item) => parseCertificate(item.bytes));
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
 * What an OCSP response says about one certificate, once its responder, signature, nonce and
 * CertID have been checked: the parts that do not depend on the moment asked about.
 */
export interface VerifiedOcspAnswer {
  readonly single: OcspSingleResponse;
  readonly producedAt: Date;
  readonly responder: Certificate;
}

/**
 * Checks that `response` is a signed answer about `cert` issued by `issuer`, by the CA or a
 * responder it authorised. Throws PkiError with ocsp.unsuccessful, ocsp.responder_untrusted,
 * ocsp.signature_invalid, ocsp.nonce_mismatch, ocsp.cert_mismatch or algorithm.unsupported.
 */
export function verifyOcspAnswer(
  response: OcspResponse,
  cert: Certificate,
  issuer: Certificate,
  options: Pick<OcspCheckOptions, 'nonce' | 'allowMissingNonce'> = {},
): VerifiedOcspAnswer {
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
    } else if (!bytesEqual(response.nonce, options.nonce)) {
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
  return { single, producedAt: response.producedAt as Date, responder };
}

/**
 * The status a verified answer gives at `at`: ocsp.stale when the answer is too old for that
 * moment; a revocation after `at` reads as good.
 */
export function ocspStatusAt(
  answer: VerifiedOcspAnswer,
  at: Date,
  maxAgeMs = DEFAULT_OCSP_MAX_AGE_MS,
): OcspResult {
  const single = answer.single;
  if (single.thisUpdate < at) {
    const limit = single.nextUpdate
      ? single.nextUpdate.getTime()
      : single.thisUpdate.getTime() + maxAgeMs;
    if (at.getTime() > limit) {
      fail('ocsp.stale', `response of ${single.thisUpdate.toISOString()} is too old`);
    }
  }
  const result: OcspResult = {
    status: meansNotIssued(single) ? 'unknown' : single.status,
    thisUpdate: single.thisUpdate,
    producedAt: answer.producedAt,
    responder: answer.responder,
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
  return ocspStatusAt(
    verifyOcspAnswer(response, cert, issuer, options),
    options.at,
    options.maxAgeMs,
  );
}

export interface ParsedOcspRequest {
  certIds: { raw: Uint8Array; value?: CertIdValue }[];
  nonce?: Uint8Array;
}

/** Reads an OCSP request (for the demo responder). PkiError('ocsp.malformed') on bad input. */
export function parseOcspRequest(input: Uint8Array): ParsedOcspRequest {
  try {
    const outer = readDer(input, CODE);
    const [tbs] = outer.children;
    if (outer.tag !== TAG.sequence || !tbs || tbs.tag !== TAG.sequence) {
      throw malformed('not an OCSP request');
    }
    const parts = tbs.children;
    const list = parts.find((item) => item.tag === TAG.sequence);
    if (!list) throw malformed('no request list');
    const certIds = list.children.map((request) => {
      const [idNode] = request.children;
      if (!idNode || idNode.tag !== TAG.sequence) throw malformed('request without CertID');
      return { raw: Uint8Array.from(idNode.bytes), value: readCertId(idNode) };
    });
    const request: ParsedOcspRequest = { certIds };
    const extensionsNode = parts.find((item) => item.tag === 0xa2);
    if (extensionsNode) {
      const [extensions] = extensionsNode.children;
      for (const extension of extensions ? extensions.children : []) {
        const [oidNode, ...rest] = extension.children;
        const valueNode = rest[rest.length - 1];
        if (!oidNode || !valueNode || oidNode.tag !== TAG.oid) continue;
        if (readOid(oidNode, CODE) === id_pkix_ocsp_nonce) {
          request.nonce = Uint8Array.from(valueNode.value);
        }
      }
    }
    return request;
  } catch (cause) {
    if (cause instanceof PkiError && cause.code === CODE) throw cause;
    throw new PkiError(CODE, 'not a valid OCSP request', { cause });
  }
}

function readCertId(node: BerNode): CertIdValue | undefined {
  const [algNode, nameHash, keyHashNode, serial] = node.children;
  if (!algNode || !nameHash || !keyHashNode || !serial) throw malformed('incomplete CertID');
  const [oidNode, parameters, ...extra] = algNode.children;
  if (!oidNode || oidNode.tag !== TAG.oid || serial.tag !== TAG.integer) {
    throw malformed('malformed CertID');
  }
  // The CertID is echoed into the answer, so only what a DER reader accepts back may pass: the
  // hash algorithm's parameters are absent or NULL.
  const nullParameters =
    parameters === undefined || (parameters.tag === 0x05 && parameters.value.length === 0);
  if (!nullParameters || extra.length > 0) throw malformed('CertID hash parameters not NULL');
  let hash: DigestName;
  try {
    hash = digestOidName(readOid(oidNode, CODE));
  } catch {
    return undefined;
  }
  return {
    hash,
    issuerNameHash: toHex(nameHash.value),
    issuerKeyHash: toHex(keyHashNode.value),
    serialHex: integerHex(serial.value),
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
  return der.sequence(der.enumerated(code));
}

function certStatusDer(answer: StatusAnswer): Uint8Array {
  if (answer.status === 'good') return Uint8Array.of(0x80, 0);
  if (answer.status === 'unknown') return Uint8Array.of(0x82, 0);
  const reasonCode = Object.entries(REVOCATION_REASONS).find(([, r]) => r === answer.reason)?.[0];
  return der.explicit(
    1,
    new Uint8Array([
      ...der.generalizedTime(answer.revokedAt ?? new Date(0)),
      ...(reasonCode === undefined ? [] : der.explicit(0, der.enumerated(Number(reasonCode)))),
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
  const thisUpdate = der.generalizedTime(input.producedAt);
  const nextUpdate = input.nextUpdate
    ? [der.explicit(0, der.generalizedTime(input.nextUpdate))]
    : [];
  const singles = request.certIds.map(({ raw, value }) => {
    const own =
      value &&
      value.issuerNameHash === toHex(digest(value.hash, input.issuer.subjectDer)) &&
      value.issuerKeyHash === keyHash(input.issuer, value.hash);
    const answer: StatusAnswer = own ? input.statusOf(value.serialHex) : { status: 'unknown' };
    return der.sequence(raw, certStatusDer(answer), thisUpdate, ...nextUpdate);
  });
  const extensions = request.nonce
    ? [der.explicit(1, der.sequence(nonceExtension(request.nonce)))]
    : [];
  const tbs = der.sequence(
    der.explicit(2, der.octetString(Buffer.from(keyHash(input.responderCert), 'hex'))),
    der.generalizedTime(input.producedAt),
    der.sequence(...singles),
    ...extensions,
  );
  const algorithm = new Uint8Array(AsnConvert.serialize(input.signatureAlgorithm));
  const certs =
    input.responderCert.fingerprintSha256 === input.issuer.fingerprintSha256
      ? []
      : [der.explicit(0, der.sequence(input.responderCert.der))];
  const basic = der.sequence(tbs, algorithm, der.bitString(input.sign(tbs)), ...certs);
  return der.sequence(
    der.enumerated(0),
    der.explicit(0, der.sequence(der.oid(id_pkix_ocsp_basic), der.octetString(basic))),
  );
}
