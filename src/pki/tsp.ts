// RFC 3161 time-stamps: reads and verifies tokens and responses, and a time-stamp authority
// that issues tokens with its own key so the platform can stamp its receipts.
import { createHash, randomBytes } from 'node:crypto';
import {
  bytesEqual,
  decodeBer,
  der,
  expectTag,
  isContext,
  readInteger,
  readOctets,
  readOid,
  readSmallInteger,
  readTime,
  TAG,
} from './ber.js';
import type { BerNode } from './ber.js';
import type { Certificate } from './certificate.js';
import { checkCmsSignatures, CMS_OIDS, parseCms } from './cms.js';
import type { PkiIssue } from './cms.js';
import { signCms } from './cms-sign.js';
import { PkiError } from './errors.js';
import { privateKeyMatches } from './keys.js';
import type { PrivateKey } from './keys.js';
import { toDer } from './pem.js';

const CODE = 'timestamp.malformed';
const TIME_STAMPING_EKU = '1.3.6.1.5.5.7.3.8';

/** Digests a message imprint may use, by OID (node:crypto names). */
export const IMPRINT_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const SHA256_OID = '2.16.840.1.101.3.4.2.1';

export interface MessageImprint {
  readonly hashOid: string;
  readonly hash: Uint8Array;
}

export interface TstInfo {
  readonly policy: string;
  readonly messageImprint: MessageImprint;
  readonly serialNumber: bigint;
  readonly genTime: Date;
  readonly nonce?: bigint;
}

function parseImprint(node: BerNode | undefined): MessageImprint {
  const imprint = expectTag(node, TAG.sequence, CODE, 'messageImprint');
  const algorithm = expectTag(imprint.children[0], TAG.sequence, CODE, 'imprint algorithm');
  return {
    hashOid: readOid(algorithm.children[0], CODE),
    hash: readOctets(imprint.children[1], CODE),
  };
}

export function parseTstInfo(bytes: Uint8Array): TstInfo {
  const info = expectTag(decodeBer(bytes, CODE), TAG.sequence, CODE, 'TSTInfo');
  if (readSmallInteger(info.children[0], CODE) !== 1) throw new PkiError(CODE, 'TSTInfo version');
  const rest = info.children.slice(5);
  const nonceNode = rest.find((n) => n.tag === TAG.integer);
  return {
    policy: readOid(info.children[1], CODE),
    messageImprint: parseImprint(info.children[2]),
    serialNumber: readInteger(info.children[3], CODE),
    genTime: readTime(expectTag(info.children[4], TAG.generalizedTime, CODE, 'genTime'), CODE),
    nonce: nonceNode === undefined ? undefined : readInteger(nonceNode, CODE),
  };
}

export interface TimestampVerification {
  readonly time: Date;
  readonly valid: boolean;
  readonly info: TstInfo;
  readonly tsaCertificate?: Certificate;
  /** Certificates the token carries (to build the TSA's path). */
  readonly certificates: readonly Certificate[];
  readonly errors: PkiIssue[];
}

export interface TimestampVerifyOptions {
  /** The time-stamped data (for a CMS signature-time-stamp: the signature value). */
  readonly data?: Uint8Array;
  /** Or the imprint expected, when the data itself is not at hand. */
  readonly imprint?: MessageImprint;
  /** TSA certificates to use when the token does not carry its own. */
  readonly certificates?: readonly Certificate[];
}

/**
 * Verifies a TimeStampToken: the TSA's CMS signature, its time-stamping key purpose and
 * validity at genTime, and that the imprint covers `data`. The TSA chain is the caller's.
 */
export function verifyTimeStampToken(
  input: Uint8Array | string,
  options: TimestampVerifyOptions = {},
): TimestampVerification {
  const cms = parseCms(input);
  if (cms.contentType !== CMS_OIDS.tstInfo || cms.content === undefined) {
    throw new PkiError(CODE, 'the token does not hold TSTInfo');
  }
  const info = parseTstInfo(cms.content);
  const errors: PkiIssue[] = [];
  const [signer, ...others] = checkCmsSignatures(cms, { certificates: options.certificates });
  if (signer === undefined || others.length > 0) {
    throw new PkiError(CODE, 'a time-stamp token has exactly one signer');
  }
  errors.push(
    ...signer.errors.map((e) => ({
      code: `timestamp.${e.code.split('.').pop()}`,
      message: e.message,
    })),
  );
  const tsa = signer.certificate;
  if (tsa !== undefined) {
    if (!tsa.extKeyUsage.includes(TIME_STAMPING_EKU)) {
      errors.push({ code: 'timestamp.not_tsa', message: 'the signer is not a time-stamping key' });
    }
    if (info.genTime < tsa.notBefore || info.genTime > tsa.notAfter) {
      errors.push({ code: 'timestamp.tsa_expired', message: 'TSA certificate invalid at genTime' });
    }
  }
  checkImprint(info.messageImprint, options, errors);
  return {
    time: info.genTime,
    valid: signer.signatureValid && errors.length === 0,
    info,
    tsaCertificate: tsa,
    certificates: cms.certificates,
    errors,
  };
}

function checkImprint(
  imprint: MessageImprint,
  options: TimestampVerifyOptions,
  errors: PkiIssue[],
): void {
  let expected: Uint8Array | undefined;
  if (options.data !== undefined) {
    const hash = IMPRINT_HASHES[imprint.hashOid];
    if (hash === undefined) {
      errors.push({ code: 'timestamp.unsupported', message: 'unsupported imprint digest' });
      return;
    }
    expected = createHash(hash).update(options.data).digest();
  } else if (options.imprint !== undefined) {
    if (options.imprint.hashOid !== imprint.hashOid) {
      errors.push({ code: 'timestamp.imprint_mismatch', message: 'imprint digest differs' });
      return;
    }
    expected = options.imprint.hash;
  }
  if (expected !== undefined && !bytesEqual(expected, imprint.hash)) {
    errors.push({ code: 'timestamp.imprint_mismatch', message: 'the token stamps other data' });
  }
}

export interface TimeStampResponse {
  readonly status: number;
  readonly statusText?: string;
  readonly failInfo?: number;
  readonly token?: Uint8Array;
}

/** PKIStatus values of RFC 3161 (0 granted, 1 granted with modifications, 2 rejection, ...). */
export const PKI_STATUS = { granted: 0, grantedWithMods: 1, rejection: 2 } as const;

/** Failure bits of PKIFailureInfo used by the authority. */
export const FAILURE = { badAlg: 0, badRequest: 2, badDataFormat: 5, systemFailure: 25 } as const;

export function parseTimeStampResponse(input: Uint8Array | string): TimeStampResponse {
  const bytes = toDer(input, undefined, CODE);
  const response = expectTag(decodeBer(bytes, CODE), TAG.sequence, CODE, 'TimeStampResp');
  const status = expectTag(response.children[0], TAG.sequence, CODE, 'PKIStatusInfo');
  const text = status.children.find((n) => n.tag === TAG.sequence);
  const failBits = status.children.find((n) => n.tag === TAG.bitString);
  const token = response.children[1];
  return {
    status: readSmallInteger(status.children[0], CODE),
    statusText: text?.children.map((n) => new TextDecoder().decode(n.value)).join('; '),
    failInfo: failBits === undefined ? undefined : firstBit(failBits),
    token: token === undefined ? undefined : expectTag(token, TAG.sequence, CODE, 'token').bytes,
  };
}

function firstBit(node: BerNode): number | undefined {
  const bits = node.value.subarray(1);
  for (let i = 0; i < bits.length * 8; i++) {
    if (((bits[i >> 3] as number) >> (7 - (i & 7))) & 1) return i;
  }
  return undefined;
}

export interface TimeStampRequest {
  readonly imprint: MessageImprint;
  readonly policy?: string;
  readonly nonce?: bigint;
  readonly certReq: boolean;
}

export function parseTimeStampRequest(input: Uint8Array): TimeStampRequest {
  const request = expectTag(decodeBer(input, CODE), TAG.sequence, CODE, 'TimeStampReq');
  if (readSmallInteger(request.children[0], CODE) !== 1) throw new PkiError(CODE, 'version');
  let policy: string | undefined;
  let nonce: bigint | undefined;
  let certReq = false;
  for (const node of request.children.slice(2)) {
    if (node.tag === TAG.oid) policy = readOid(node, CODE);
    else if (node.tag === TAG.integer) nonce = readInteger(node, CODE);
    else if (node.tag === TAG.boolean) certReq = node.value[0] !== 0;
    else if (!isContext(node, 0)) throw new PkiError(CODE, 'unexpected request field');
  }
  return { imprint: parseImprint(request.children[1]), policy, nonce, certReq };
}

export function encodeTimeStampRequest(request: TimeStampRequest): Uint8Array {
  return der.sequence(
    der.integer(1),
    encodeImprint(request.imprint),
    ...(request.policy === undefined ? [] : [der.oid(request.policy)]),
    ...(request.nonce === undefined ? [] : [der.integer(request.nonce)]),
    ...(request.certReq ? [der.boolean(true)] : []),
  );
}

function encodeImprint(imprint: MessageImprint): Uint8Array {
  return der.sequence(
    der.sequence(der.oid(imprint.hashOid), der.null()),
    der.octetString(imprint.hash),
  );
}

/** The imprint of `data` with SHA-256. */
export function imprintOf(data: Uint8Array): MessageImprint {
  return { hashOid: SHA256_OID, hash: createHash('sha256').update(data).digest() };
}

export interface TimeStampAuthorityOptions {
  readonly privateKey: PrivateKey;
  readonly certificate: Certificate;
  readonly chain?: readonly Certificate[];
  readonly clock: () => Date;
  /** The TSA policy OID written into every token. */
  readonly policy: string;
  /** Serial numbers; by default 128 random bits, unique without shared state across nodes. */
  readonly serialNumber?: () => bigint;
}

/** A platform time-stamp authority: signs TSTInfo with its own key and certificate. */
export class TimeStampAuthority {
  constructor(private readonly options: TimeStampAuthorityOptions) {
    if (!options.certificate.extKeyUsage.includes(TIME_STAMPING_EKU)) {
      throw new PkiError('timestamp.not_tsa', 'the TSA certificate lacks id-kp-timeStamping');
    }
    if (!privateKeyMatches(options.privateKey, options.certificate.der)) {
      throw new PkiError('sign.key_mismatch', 'the TSA key does not belong to its certificate');
    }
  }

  get certificate(): Certificate {
    return this.options.certificate;
  }

  /** Issues a token for an imprint (or for data, hashed with SHA-256). */
  issue(request: {
    imprint?: MessageImprint;
    data?: Uint8Array;
    nonce?: bigint;
    certReq?: boolean;
  }) {
    const imprint =
      request.imprint ?? (request.data !== undefined ? imprintOf(request.data) : undefined);
    if (imprint === undefined) throw new PkiError('timestamp.bad_request', 'nothing to stamp');
    if (IMPRINT_HASHES[imprint.hashOid] === undefined) {
      throw new PkiError('timestamp.unsupported', 'unsupported imprint digest');
    }
    const genTime = this.options.clock();
    const serial = this.options.serialNumber?.() ?? BigInt(`0x${randomBytes(16).toString('hex')}`);
    const tstInfo = der.sequence(
      der.integer(1),
      der.oid(this.options.policy),
      encodeImprint(imprint),
      der.integer(serial),
      der.generalizedTime(genTime, true),
      ...(request.nonce === undefined ? [] : [der.integer(request.nonce)]),
    );
    return signCms({
      content: tstInfo,
      contentType: CMS_OIDS.tstInfo,
      detached: false,
      signingTime: genTime,
      includeCertificates: request.certReq ?? true,
      signers: [
        {
          privateKey: this.options.privateKey,
          certificate: this.options.certificate,
          chain: this.options.chain,
        },
      ],
    });
  }

  /** Stamps a CMS signature value, for the signatureTimeStampToken attribute. */
  stampSignature(signature: Uint8Array): Uint8Array {
    return this.issue({ data: signature });
  }

  /** Answers a DER TimeStampReq with a DER TimeStampResp (`application/timestamp-reply`). */
  respond(requestDer: Uint8Array): Uint8Array {
    let request: TimeStampRequest;
    try {
      request = parseTimeStampRequest(requestDer);
    } catch (error) {
      if (!(error instanceof PkiError)) throw error;
      return rejection(FAILURE.badRequest, 'malformed request');
    }
    if (IMPRINT_HASHES[request.imprint.hashOid] === undefined) {
      return rejection(FAILURE.badAlg, 'unsupported hash algorithm');
    }
    if (request.policy !== undefined && request.policy !== this.options.policy) {
      return rejection(FAILURE.badRequest, 'unaccepted policy');
    }
    const token = this.issue({
      imprint: request.imprint,
      nonce: request.nonce,
      certReq: request.certReq,
    });
    return der.sequence(der.sequence(der.integer(PKI_STATUS.granted)), token);
  }
}

function rejection(failBit: number, text: string): Uint8Array {
  const bits = new Uint8Array(Math.floor(failBit / 8) + 1);
  bits[failBit >> 3] = 0x80 >> (failBit & 7);
  const unused = 7 - (failBit & 7);
  return der.sequence(
    der.sequence(
      der.integer(PKI_STATUS.rejection),
      der.sequence(der.utf8(text)),
      Uint8Array.of(TAG.bitString, bits.length + 1, unused, ...bits),
    ),
  );
}
