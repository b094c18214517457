// CMS SignedData (RFC 5652) and CAdES basics: parses attached or detached messages and checks
// each signer's digest, signature, signing-certificate attribute and embedded time-stamp.
import { createHash } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  bytesEqual,
  decodeBer,
  expectTag,
  isContext,
  readInteger,
  readOctets,
  readOid,
  readSmallInteger,
  readTime,
  TAG,
  toHex,
  tlv,
} from './ber.js';
import type { BerNode } from './ber.js';
import {
  digest,
  digestOidName,
  signatureAlgorithmName,
  verifySignature,
  SIGNATURE_ALGORITHM_OIDS,
} from './algorithms.js';
import type { DigestName, SignatureAlgorithmName } from './algorithms.js';
import { parseCertificate, parseName, sameName } from './certificate.js';
import type { Certificate } from './certificate.js';
import { PkiError } from './errors.js';
import { toDer } from './pem.js';
import { verifyTimeStampToken } from './tsp.js';

const CODE = 'cms.malformed';

export const CMS_OIDS = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  signatureTimeStampToken: '1.2.840.113549.1.9.16.2.14',
} as const;

export interface PkiIssue {
  readonly code: string;
  readonly message: string;
}

export interface CmsAttribute {
  readonly oid: string;
  readonly values: readonly BerNode[];
}

export interface CmsSignerInfo {
  readonly index: number;
  readonly version: number;
  /** The signer identifier: issuer and serial, or a subject key identifier. */
  readonly sid:
    { readonly issuerDer: Uint8Array; readonly serial: bigint } | { readonly subjectKeyId: string };
  readonly digestAlgorithmOid: string;
  readonly signatureAlgorithm: BerNode;
  readonly signedAttributes?: readonly CmsAttribute[];
  /** DER of the signed attributes as a SET OF (the bytes the signature covers). */
  readonly signedAttributesDer?: Uint8Array;
  readonly unsignedAttributes: readonly CmsAttribute[];
  readonly signature: Uint8Array;
  /** The whole SignerInfo, as it was encoded. */
  readonly bytes: Uint8Array;
}

export interface ParsedCms {
  readonly der: Uint8Array;
  readonly version: number;
  readonly digestAlgorithms: readonly BerNode[];
  readonly contentType: string;
  /** DER of encapContentInfo, kept to add co-signers without touching it. */
  readonly encapsulatedContentInfo: Uint8Array;
  /** The encapsulated content; absent for a detached signature. */
  readonly content?: Uint8Array;
  readonly certificates: readonly Certificate[];
  /** DER of CRLs carried in the message. */
  readonly crls: readonly Uint8Array[];
  readonly signers: readonly CmsSignerInfo[];
}

/** Parses a ContentInfo holding SignedData from DER, BER, PEM or base64. */
export function parseCms(input: Uint8Array | string): ParsedCms {
  const bytes = toDer(input, undefined, CODE);
  const info = expectTag(decodeBer(bytes, CODE), TAG.sequence, CODE, 'ContentInfo');
  if (readOid(info.children[0], CODE) !== CMS_OIDS.signedData) {
    throw new PkiError('cms.unsupported', 'the message is not CMS SignedData');
  }
  const wrapper = info.children[1];
  if (!isContext(wrapper, 0)) throw new PkiError(CODE, 'SignedData content is missing');
  const sd = expectTag(wrapper.children[0], TAG.sequence, CODE, 'SignedData');
  const items = [...sd.children];
  const version = readSmallInteger(items.shift(), CODE);
  const digestAlgorithms = expectTag(items.shift(), TAG.set, CODE, 'digestAlgorithms').children;
  const encap = expectTag(items.shift(), TAG.sequence, CODE, 'encapContentInfo');
  const contentType = readOid(encap.children[0], CODE);
  const eContent = encap.children[1];
  let content: Uint8Array | undefined;
  if (eContent !== undefined) {
    if (!isContext(eContent, 0)) throw new PkiError(CODE, 'eContent is not [0]');
    content = readOctets(eContent.children[0], CODE);
  }
  const certificates: Certificate[] = [];
  const crls: Uint8Array[] = [];
  let next = items.shift();
  if (isContext(next, 0)) {
    for (const c of next.children) {
      if (c.tag === TAG.sequence) pushCertificate(certificates, c.bytes);
    }
    next = items.shift();
  }
  if (isContext(next, 1)) {
    for (const c of next.children) if (c.tag === TAG.sequence) crls.push(c.bytes);
    next = items.shift();
  }
  const signerSet = expectTag(next, TAG.set, CODE, 'signerInfos');
  const signers = signerSet.children.map((node, index) => parseSignerInfo(node, index));
  return {
    der: bytes,
    version,
    digestAlgorithms,
    contentType,
    encapsulatedContentInfo: encap.bytes,
    content,
    certificates,
    crls,
    signers,
  };
}

// A certificate this module cannot read is left out rather than failing the whole message: if it
// was the signer's, that signer reports cms.signer_not_found.
function pushCertificate(certificates: Certificate[], bytes: Uint8Array): void {
  try {
    certificates.push(parseCertificate(bytes));
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
  }
}

function parseAttributes(node: BerNode): CmsAttribute[] {
  return node.children.map((a) => {
    expectTag(a, TAG.sequence, CODE, 'attribute');
    const values = expectTag(a.children[1], TAG.set, CODE, 'attribute values');
    return { oid: readOid(a.children[0], CODE), values: values.children };
  });
}

function parseSignerInfo(node: BerNode, index: number): CmsSignerInfo {
  expectTag(node, TAG.sequence, CODE, 'SignerInfo');
  const items = [...node.children];
  const version = readSmallInteger(items.shift(), CODE);
  const sidNode = items.shift();
  let sid: CmsSignerInfo['sid'];
  if (isContext(sidNode, 0) && !sidNode.constructed) {
    sid = { subjectKeyId: toHex(sidNode.value) };
  } else {
    const ias = expectTag(sidNode, TAG.sequence, CODE, 'issuerAndSerialNumber');
    const issuer = expectTag(ias.children[0], TAG.sequence, CODE, 'issuer');
    sid = { issuerDer: issuer.bytes, serial: readInteger(ias.children[1], CODE) };
  }
  const digestAlgorithm = expectTag(items.shift(), TAG.sequence, CODE, 'digestAlgorithm');
  let next = items.shift();
  let signedAttributes: CmsAttribute[] | undefined;
  let signedAttributesDer: Uint8Array | undefined;
  if (isContext(next, 0)) {
    signedAttributes = parseAttributes(next);
    // The signature covers the attributes with their universal SET tag, not the [0] tag.
    signedAttributesDer = tlv(TAG.set, next.value);
    next = items.shift();
  }
  const signatureAlgorithm = expectTag(next, TAG.sequence, CODE, 'signatureAlgorithm');
  readOid(signatureAlgorithm.children[0], CODE);
  const signature = readOctets(items.shift(), CODE);
  const unsigned = items.shift();
  const unsignedAttributes = isContext(unsigned, 1) ? parseAttributes(unsigned) : [];
  return {
    index,
    version,
    sid,
    digestAlgorithmOid: readOid(digestAlgorithm.children[0], CODE),
    signatureAlgorithm,
    signedAttributes,
    signedAttributesDer,
    unsignedAttributes,
    signature,
    bytes: node.bytes,
  };
}

export interface TimestampCheck {
  readonly time: Date;
  readonly valid: boolean;
  readonly tsaCertificate?: Certificate;
  /** Certificates the token carries (to build the TSA's path). */
  readonly certificates?: readonly Certificate[];
  readonly errors: readonly PkiIssue[];
}

export interface SignerCheck {
  readonly index: number;
  readonly signatureValid: boolean;
  readonly certificate?: Certificate;
  readonly signingTime?: Date;
  readonly timestamp?: TimestampCheck;
  readonly digestAlgorithm?: DigestName;
  readonly signatureAlgorithm?: SignatureAlgorithmName;
  readonly errors: PkiIssue[];
}

export interface SignatureCheckOptions {
  /** The signed content of a detached signature (or to compare with the attached one). */
  readonly content?: Uint8Array;
  /** Certificates to look the signer up in besides those in the message. */
  readonly certificates?: readonly Certificate[];
}

/** Finds the signer's certificate by issuer and serial number or subject key identifier. */
export function findSignerCertificate(
  signer: CmsSignerInfo,
  certificates: readonly Certificate[],
): Certificate | undefined {
  const sid = signer.sid;
  if ('subjectKeyId' in sid) {
    return certificates.find((c) => c.subjectKeyId === sid.subjectKeyId);
  }
  return certificates.find(
    (c) => BigInt(`0x${c.serialHex || '0'}`) === sid.serial && sameIssuer(c, sid.issuerDer),
  );
}

function sameIssuer(certificate: Certificate, issuerDer: Uint8Array): boolean {
  if (bytesEqual(certificate.issuerDer, issuerDer)) return true;
  try {
    const name = parseName(issuerDer);
    return sameName(
      { der: certificate.issuerDer, name: certificate.issuer },
      { der: issuerDer, name },
    );
  } catch {
    return false;
  }
}

/** The signature algorithm a SignerInfo uses, mapping bare key OIDs (rsaEncryption) to one. */
function signerAlgorithm(signer: CmsSignerInfo): AlgorithmIdentifier {
  const oid = readOid(signer.signatureAlgorithm.children[0], CODE);
  const digestName = digestOidName(signer.digestAlgorithmOid);
  const fromKey = KEY_OID_SIGNATURES[oid]?.[digestName];
  const algorithm = new AlgorithmIdentifier({ algorithm: fromKey ?? oid });
  if (fromKey === undefined) {
    return AsnConvert.parse(signer.signatureAlgorithm.bytes, AlgorithmIdentifier);
  }
  return algorithm;
}

const RSA_BY_DIGEST: Partial<Record<DigestName, string>> = {
  sha1: SIGNATURE_ALGORITHM_OIDS['rsa-pkcs1-sha1'],
  sha256: SIGNATURE_ALGORITHM_OIDS['rsa-pkcs1-sha256'],
  sha384: SIGNATURE_ALGORITHM_OIDS['rsa-pkcs1-sha384'],
  sha512: SIGNATURE_ALGORITHM_OIDS['rsa-pkcs1-sha512'],
};

const KEY_OID_SIGNATURES: Record<string, Partial<Record<DigestName, string>>> = {
  '1.2.840.113549.1.1.1': RSA_BY_DIGEST,
  '1.2.398.3.10.1.1.2.2': { 'gost2015-512': SIGNATURE_ALGORITHM_OIDS['gost2015-512'] },
  '1.2.398.3.10.1.1.2.1': { 'gost2015-256': SIGNATURE_ALGORITHM_OIDS['gost2015-256'] },
  '1.2.398.3.10.1.1.1.1': { gost2004: SIGNATURE_ALGORITHM_OIDS.gost2004 },
};

function attribute(signer: CmsSignerInfo, oid: string): BerNode | undefined {
  return signer.signedAttributes?.find((a) => a.oid === oid)?.values[0];
}

function issue(code: string, message: string): PkiIssue {
  return { code, message };
}

/**
 * Checks every signer of a parsed message: digest, signature, ESS signing-certificate and an
 * embedded time-stamp. Chain and revocation are left to the caller (see verifyCms).
 */
export function checkCmsSignatures(
  cms: ParsedCms,
  options: SignatureCheckOptions = {},
): SignerCheck[] {
  const content = options.content ?? cms.content;
  if (options.content !== undefined && cms.content !== undefined) {
    if (!bytesEqual(options.content, cms.content)) {
      throw new PkiError('content.mismatch', 'the given content differs from the attached one');
    }
  }
  const certificates = [...cms.certificates, ...(options.certificates ?? [])];
  return cms.signers.map((signer) => checkSigner(cms, signer, content, certificates));
}

function checkSigner(
  cms: ParsedCms,
  signer: CmsSignerInfo,
  content: Uint8Array | undefined,
  certificates: readonly Certificate[],
): SignerCheck {
  const errors: PkiIssue[] = [];
  const certificate = findSignerCertificate(signer, certificates);
  let signingTime: Date | undefined;
  let digestName: DigestName | undefined;
  let algorithmName: SignatureAlgorithmName | undefined;
  let signatureValid = false;
  try {
    digestName = digestOidName(signer.digestAlgorithmOid);
    const algorithm = signerAlgorithm(signer);
    algorithmName = signatureAlgorithmName(algorithm);
    const signed = signedBytes(cms, signer, content, digestName, errors);
    const timeNode = attribute(signer, CMS_OIDS.signingTime);
    if (timeNode !== undefined) signingTime = readTime(timeNode, CODE);
    if (certificate === undefined) {
      errors.push(issue('cms.signer_not_found', 'the signer certificate is not in the message'));
    } else if (signed !== undefined) {
      signatureValid = verifySignature(algorithm, certificate.spki, signed, signer.signature);
      if (!signatureValid) errors.push(issue('signature.invalid', 'the signature does not verify'));
      checkSigningCertificate(signer, certificate, errors);
    }
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    errors.push(issue(error.code, error.message));
  }
  const signatureErrors = errors.length;
  const timestamp = checkTimestamp(signer, errors);
  return {
    index: signer.index,
    signatureValid: signatureValid && signatureErrors === 0,
    certificate,
    signingTime,
    timestamp,
    digestAlgorithm: digestName,
    signatureAlgorithm: algorithmName,
    errors,
  };
}

/** The bytes the signature covers, after checking contentType and messageDigest. */
function signedBytes(
  cms: ParsedCms,
  signer: CmsSignerInfo,
  content: Uint8Array | undefined,
  digestName: DigestName,
  errors: PkiIssue[],
): Uint8Array | undefined {
  if (signer.signedAttributesDer === undefined) {
    if (content === undefined) throw new PkiError('cms.content_missing', 'no content to check');
    if (cms.contentType !== CMS_OIDS.data) {
      throw new PkiError(CODE, 'signed attributes are required for this content type');
    }
    return content;
  }
  const typeNode = attribute(signer, CMS_OIDS.contentType);
  if (typeNode === undefined || readOid(typeNode, CODE) !== cms.contentType) {
    errors.push(issue('cms.content_type_mismatch', 'contentType attribute missing or wrong'));
  }
  const digestNode = attribute(signer, CMS_OIDS.messageDigest);
  if (digestNode === undefined) throw new PkiError(CODE, 'messageDigest attribute is missing');
  const expected = readOctets(digestNode, CODE);
  if (content === undefined) {
    throw new PkiError('cms.content_missing', 'detached signature: the content is needed');
  }
  if (!bytesEqual(digest(digestName, content), expected)) {
    errors.push(issue('digest.mismatch', 'messageDigest does not match the content'));
  }
  return signer.signedAttributesDer;
}

const ESS_HASH: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

function checkSigningCertificate(
  signer: CmsSignerInfo,
  certificate: Certificate,
  errors: PkiIssue[],
): void {
  const v2 = attribute(signer, CMS_OIDS.signingCertificateV2);
  const v1 = attribute(signer, CMS_OIDS.signingCertificate);
  const node = v2 ?? v1;
  if (node === undefined) return;
  const certs = expectTag(node.children[0], TAG.sequence, CODE, 'signing certificate list');
  const first = expectTag(certs.children[0], TAG.sequence, CODE, 'ESS certificate id');
  let hashName = 'sha1';
  let hashNode = first.children[0];
  if (v2 !== undefined && hashNode?.tag === TAG.sequence) {
    const name = ESS_HASH[readOid(hashNode.children[0], CODE)];
    if (name === undefined) throw new PkiError('cms.unsupported', 'unsupported ESS hash');
    hashName = name;
    hashNode = first.children[1];
  } else if (v2 !== undefined) {
    hashName = 'sha256';
  }
  const expected = readOctets(hashNode, CODE);
  const actual = createHash(hashName).update(certificate.der).digest();
  if (!bytesEqual(actual, expected)) {
    errors.push(
      issue('cms.signing_certificate_mismatch', 'the ESS signing-certificate hash differs'),
    );
  }
}

function checkTimestamp(signer: CmsSignerInfo, errors: PkiIssue[]): TimestampCheck | undefined {
  const attr = signer.unsignedAttributes.find((a) => a.oid === CMS_OIDS.signatureTimeStampToken);
  const token = attr?.values[0];
  if (token === undefined) return undefined;
  try {
    const result = verifyTimeStampToken(token.bytes, { data: signer.signature });
    for (const e of result.errors) errors.push(e);
    return result;
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    errors.push(issue(error.code === CODE ? 'timestamp.malformed' : error.code, error.message));
    return undefined;
  }
}
