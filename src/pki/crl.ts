// Certificate revocation lists (RFC 5280 section 5): full and delta CRLs parsed with a streaming
// DER walk (NCA CRLs are large), verified against the issuing CA, and built for the demo CA.

import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { verifySignature } from './algorithms.js';
import { parseName, sameName, type Certificate, type DistinguishedName } from './certificate.js';
import {
  der,
  integerHex,
  normalSerialHex,
  readDer,
  readExtensionList,
  readInteger,
  readTime,
  TAG,
  toHex,
  type BerNode,
  type RawExtension,
} from './ber.js';
import { PkiError } from './errors.js';
import { toDer } from './pem.js';

export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise';

/** CRLReason codes of RFC 5280 section 5.3.1 (7 is unused). */
export const REVOCATION_REASONS: Record<number, RevocationReason> = {
  0: 'unspecified',
  1: 'keyCompromise',
  2: 'cACompromise',
  3: 'affiliationChanged',
  4: 'superseded',
  5: 'cessationOfOperation',
  6: 'certificateHold',
  8: 'removeFromCRL',
  9: 'privilegeWithdrawn',
  10: 'aACompromise',
};

const REASON_CODES = Object.fromEntries(
  Object.entries(REVOCATION_REASONS).map(([code, reason]) => [reason, Number(code)]),
) as Record<RevocationReason, number>;

const CRL_EXTENSIONS = {
  crlNumber: '2.5.29.20',
  deltaCrlIndicator: '2.5.29.27',
  issuingDistributionPoint: '2.5.29.28',
  authorityKeyIdentifier: '2.5.29.35',
  freshestCrl: '2.5.29.46',
  reasonCode: '2.5.29.21',
  invalidityDate: '2.5.29.24',
} as const;

const HANDLED_CRL_EXTENSIONS = new Set<string>([
  CRL_EXTENSIONS.crlNumber,
  CRL_EXTENSIONS.deltaCrlIndicator,
  CRL_EXTENSIONS.authorityKeyIdentifier,
  CRL_EXTENSIONS.freshestCrl,
]);
const HANDLED_ENTRY_EXTENSIONS = new Set<string>([
  CRL_EXTENSIONS.reasonCode,
  CRL_EXTENSIONS.invalidityDate,
]);

const CODE = 'crl.malformed';

export interface RevokedEntry {
  serialHex: string;
  revokedAt: Date;
  reason?: RevocationReason;
  invalidityDate?: Date;
}

export interface Crl {
  der: Uint8Array;
  /** DER of tbsCertList, the bytes the CA signed. */
  tbs: Uint8Array;
  issuer: DistinguishedName;
  issuerDer: Uint8Array;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** CRL number as decimal text (CRL numbers may exceed 2^53). */
  crlNumber?: string;
  /** Set on a delta CRL: the number of the base CRL it updates. */
  baseCrlNumber?: string;
  isDelta: boolean;
  authorityKeyId?: string;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
  /** Entries by serial (lowercase hex, as Certificate.serialHex). */
  entries: Map<string, RevokedEntry>;
  /** Critical CRL or entry extensions this module does not process: the CRL is then unusable. */
  unhandledCriticalExtensions: string[];
}

export interface CrlStatus {
  status: 'good' | 'revoked';
  revokedAt?: Date;
  reason?: RevocationReason;
}

function malformed(message: string): PkiError {
  return new PkiError(CODE, message);
}

function algorithmAt(node: BerNode): AlgorithmIdentifier {
  if (node.tag !== TAG.sequence) throw malformed('expected an AlgorithmIdentifier');
  return AsnConvert.parse(node.bytes, AlgorithmIdentifier);
}

/** RFC 5280 times: seconds written, a real calendar date. */
function timeOf(node: BerNode | undefined): Date {
  return readTime(node, CODE, { strict: true });
}

function unsignedOf(node: BerNode): bigint {
  const value = readInteger(node, CODE);
  if (value < 0n) throw malformed('negative INTEGER');
  return value;
}

function readEntry(node: BerNode, unhandled: Set<string>): RevokedEntry {
  const [serialNode, dateNode, extensionsNode, extra] = node.children;
  if (node.tag !== TAG.sequence || !serialNode || !dateNode || extra) {
    throw malformed('malformed revoked certificate entry');
  }
  if (serialNode.tag !== TAG.integer || serialNode.value.length === 0) {
    throw malformed('entry serial is not an INTEGER');
  }
  const entry: RevokedEntry = {
    serialHex: integerHex(serialNode.value),
    revokedAt: timeOf(dateNode),
  };
  if (!extensionsNode) return entry;
  for (const extension of readExtensionList(extensionsNode, CODE)) {
    if (extension.oid === CRL_EXTENSIONS.reasonCode) {
      const reasonNode = readDer(extension.value, CODE);
      const reason = REVOCATION_REASONS[reasonNode.value[0] ?? -1];
      if (reasonNode.tag !== TAG.enumerated || !reason) throw malformed('bad CRL reason code');
      entry.reason = reason;
    } else if (extension.oid === CRL_EXTENSIONS.invalidityDate) {
      entry.invalidityDate = timeOf(readDer(extension.value, CODE));
    } else if (extension.critical && !HANDLED_ENTRY_EXTENSIONS.has(extension.oid)) {
      unhandled.add(extension.oid);
    }
  }
  return entry;
}

function numberExtension(extension: RawExtension): string {
  return unsignedOf(readDer(extension.value, CODE)).toString();
}

function keyIdentifier(extension: RawExtension): string | undefined {
  const keyId = readDer(extension.value, CODE).children.find((item) => item.tag === 0x80);
  return keyId ? toHex(keyId.value) : undefined;
}

/** Parses a CRL from DER, PEM or base64; PkiError('crl.malformed') on bad input. */
export function parseCrl(input: Uint8Array | string): Crl {
  const source = toDer(input, undefined, CODE);
  try {
    return readCrl(source);
  } catch (cause) {
    if (cause instanceof PkiError && cause.code === CODE) throw cause;
    throw new PkiError(CODE, 'not a valid CRL', { cause });
  }
}

function readCrl(source: Uint8Array): Crl {
  const outer = readDer(source, CODE);
  if (outer.tag !== TAG.sequence) throw malformed('CRL is not a SEQUENCE');
  const encoded = Uint8Array.from(outer.bytes);
  const [tbsNode, algNode, signatureNode, extra] = outer.children;
  if (!tbsNode || !algNode || !signatureNode || extra || tbsNode.tag !== TAG.sequence) {
    throw malformed('CRL must have tbsCertList, signatureAlgorithm and signature');
  }
  if (signatureNode.tag !== TAG.bitString || signatureNode.value[0] !== 0) {
    throw malformed('CRL signature is not a BIT STRING');
  }
  const parts = tbsNode.children;
  let index = 0;
  if (parts[0]?.tag === TAG.integer) {
    if (unsignedOf(parts[0]) !== 1n) throw malformed('unsupported CRL version');
    index++;
  }
  const innerAlg = parts[index++];
  const issuerNode = parts[index++];
  const thisUpdateNode = parts[index++];
  if (!innerAlg || !issuerNode || !thisUpdateNode || issuerNode.tag !== TAG.sequence) {
    throw malformed('tbsCertList is incomplete');
  }
  const signatureAlgorithm = algorithmAt(algNode);
  if (algorithmAt(innerAlg).algorithm !== signatureAlgorithm.algorithm) {
    throw malformed('signature algorithm differs inside and outside the CRL');
  }
  const issuerDer = Uint8Array.from(issuerNode.bytes);
  const crl: Crl = {
    der: encoded,
    tbs: Uint8Array.from(tbsNode.bytes),
    issuer: parseName(issuerDer),
    issuerDer,
    thisUpdate: timeOf(thisUpdateNode),
    isDelta: false,
    signatureAlgorithm,
    signature: Uint8Array.from(signatureNode.value.subarray(1)),
    entries: new Map(),
    unhandledCriticalExtensions: [],
  };
  let next = parts[index];
  if (next && (next.tag === TAG.utcTime || next.tag === TAG.generalizedTime)) {
    crl.nextUpdate = timeOf(next);
    next = parts[++index];
  }
  const unhandled = new Set<string>();
  if (next && next.tag === TAG.sequence) {
    for (const entryNode of next.children) {
      const entry = readEntry(entryNode, unhandled);
      crl.entries.set(entry.serialHex, entry);
    }
    next = parts[++index];
  }
  if (next && next.tag === 0xa0) {
    const [list] = next.children;
    if (!list) throw malformed('empty CRL extensions');
    for (const extension of readExtensionList(list, CODE)) {
      switch (extension.oid) {
        case CRL_EXTENSIONS.crlNumber:
          crl.crlNumber = numberExtension(extension);
          break;
        case CRL_EXTENSIONS.deltaCrlIndicator:
          crl.baseCrlNumber = numberExtension(extension);
          crl.isDelta = true;
          break;
        case CRL_EXTENSIONS.authorityKeyIdentifier: {
          const keyId = keyIdentifier(extension);
          if (keyId !== undefined) crl.authorityKeyId = keyId;
          break;
        }
        default:
          if (extension.critical && !HANDLED_CRL_EXTENSIONS.has(extension.oid)) {
            unhandled.add(extension.oid);
          }
      }
    }
    next = parts[++index];
  }
  if (next) throw malformed('unexpected data in tbsCertList');
  crl.unhandledCriticalExtensions = [...unhandled];
  return crl;
}

export interface CrlProblem {
  code: string;
  message: string;
}

/**
 * Problems that make `crl` unusable for certificates of `issuer` at moment `at`: wrong issuer,
 * key not allowed to sign CRLs, bad signature, `at` past nextUpdate, unknown critical extensions.
 * A CRL issued after `at` is usable: its revocation dates tell the status at `at`.
 */
export function checkCrl(crl: Crl, issuer: Certificate, at?: Date): CrlProblem[] {
  const problems: CrlProblem[] = [];
  const named = sameName(
    { der: crl.issuerDer, name: crl.issuer },
    { der: issuer.subjectDer, name: issuer.subject },
  );
  const keyMatches =
    !crl.authorityKeyId || !issuer.subjectKeyId || crl.authorityKeyId === issuer.subjectKeyId;
  if (!named || !keyMatches) {
    problems.push({ code: 'crl.wrong_issuer', message: `CRL of ${crl.issuer.text}` });
    return problems;
  }
  if (issuer.keyUsage.length > 0 && !issuer.keyUsage.includes('crlSign')) {
    problems.push({ code: 'crl.wrong_issuer', message: 'the CA key may not sign CRLs' });
  }
  let valid: boolean;
  try {
    valid = verifySignature(crl.signatureAlgorithm, issuer.spki, crl.tbs, crl.signature);
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    valid = false;
  }
  if (!valid) problems.push({ code: 'crl.signature_invalid', message: 'CRL signature is invalid' });
  if (crl.unhandledCriticalExtensions.length > 0) {
    problems.push({
      code: 'crl.unsupported_critical_extension',
      message: `CRL has critical extensions ${crl.unhandledCriticalExtensions.join(', ')}`,
    });
  }
  if (at && crl.nextUpdate && at > crl.nextUpdate) {
    problems.push({ code: 'crl.stale', message: `CRL expired at ${crl.nextUpdate.toISOString()}` });
  }
  return problems;
}

/** Whether the CRL verifies against `issuer` (name, key and signature; not freshness). */
export function verifyCrl(crl: Crl, issuer: Certificate): boolean {
  return checkCrl(crl, issuer).length === 0;
}

/**
 * Status of a serial number by a full CRL and, optionally, a delta CRL based on it. A revocation
 * dated after `at` did not yet apply at `at`. removeFromCRL in the delta lifts a hold.
 */
export function crlStatus(crl: Crl, serialHex: string, at?: Date, delta?: Crl): CrlStatus {
  if (crl.isDelta) throw new PkiError('crl.delta_without_base', 'a delta CRL needs its base CRL');
  if (delta) {
    if (!delta.isDelta || delta.baseCrlNumber === undefined || crl.crlNumber === undefined) {
      throw new PkiError('crl.delta_mismatch', 'not a delta CRL for a numbered base CRL');
    }
    if (BigInt(delta.baseCrlNumber) > BigInt(crl.crlNumber)) {
      throw new PkiError('crl.delta_mismatch', 'the delta CRL needs a newer base CRL');
    }
  }
  const serial = normalSerialHex(serialHex);
  const entry = delta?.entries.get(serial) ?? crl.entries.get(serial);
  if (!entry || entry.reason === 'removeFromCRL') return { status: 'good' };
  if (at && entry.revokedAt > at) return { status: 'good' };
  const status: CrlStatus = { status: 'revoked', revokedAt: entry.revokedAt };
  if (entry.reason) status.reason = entry.reason;
  return status;
}

export interface SignCrlInput {
  issuer: Certificate;
  sign: (tbs: Uint8Array) => Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  revoked: { serialHex: string; revokedAt: Date; reason?: RevocationReason }[];
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number | bigint;
  /** Makes a delta CRL over the base CRL with this number. */
  baseCrlNumber?: number | bigint;
}

function extensionDer(oid: string, value: Uint8Array, critical = false): Uint8Array {
  return der.sequence(
    der.oid(oid),
    ...(critical ? [der.boolean(true)] : []),
    der.octetString(value),
  );
}

/** A signed v2 CRL (DER) for the demo CA. */
export function signCrl(input: SignCrlInput): Uint8Array {
  const algorithm = new Uint8Array(AsnConvert.serialize(input.signatureAlgorithm));
  const entries = input.revoked.map((item) => {
    const reason =
      item.reason === undefined
        ? []
        : [
            der.sequence(
              extensionDer(CRL_EXTENSIONS.reasonCode, der.enumerated(REASON_CODES[item.reason])),
            ),
          ];
    return der.sequence(der.serial(item.serialHex), der.time(item.revokedAt), ...reason);
  });
  const extensions = [extensionDer(CRL_EXTENSIONS.crlNumber, der.integer(input.crlNumber))];
  if (input.issuer.subjectKeyId) {
    const keyId = Uint8Array.from(Buffer.from(input.issuer.subjectKeyId, 'hex'));
    extensions.push(
      extensionDer(
        CRL_EXTENSIONS.authorityKeyIdentifier,
        der.sequence(der.implicitPrimitive(0, keyId)),
      ),
    );
  }
  if (input.baseCrlNumber !== undefined) {
    extensions.push(
      extensionDer(CRL_EXTENSIONS.deltaCrlIndicator, der.integer(input.baseCrlNumber), true),
    );
  }
  const tbs = der.sequence(
    der.integer(1),
    algorithm,
    input.issuer.subjectDer,
    der.time(input.thisUpdate),
    der.time(input.nextUpdate),
    ...(entries.length > 0 ? [der.sequence(...entries)] : []),
    der.explicit(0, der.sequence(...extensions)),
  );
  return der.sequence(tbs, algorithm, der.bitString(input.sign(tbs)));
}
