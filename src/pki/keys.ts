// Private keys of signers (RSA through node:crypto, GOST as a scalar): reading and writing them
// in PKCS#8 the way NCA RK key stores hold them, public keys, and raw signing.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as nodeSign,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  bytesEqual,
  decodeBer,
  der,
  expectTag,
  readBitString,
  readInteger,
  readOctets,
  readOid,
  TAG,
} from './ber.js';
import { PkiError } from './errors.js';
import { GOST_OIDS, gostDigest, gostGenerateKey, gostPublicKey, gostSign } from './gost/index.js';
import type { GostAlgorithm } from './gost/index.js';

export type PrivateKey =
  | { readonly algorithm: 'rsa'; readonly keyObject: KeyObject }
  | { readonly algorithm: GostAlgorithm; readonly scalar: bigint };

export type KeyAlgorithm = PrivateKey['algorithm'];

const CODE = 'key.malformed';

interface GostKeyProfile {
  readonly keyOid: string;
  /** Parameters of the key's AlgorithmIdentifier: curve, then digest (parameters). */
  readonly paramOids: readonly string[];
  readonly signatureOid: string;
  readonly digestOid: string;
  /** Length in bytes of the scalar and of each coordinate. */
  readonly size: number;
}

function gostProfile(algorithm: GostAlgorithm, size: number): GostKeyProfile {
  const oids = GOST_OIDS[algorithm];
  return {
    keyOid: oids.key,
    paramOids: [oids.params, oids.digestParams ?? oids.digest],
    signatureOid: oids.signature,
    digestOid: oids.digest,
    size,
  };
}

/** NCA RK key and parameter OIDs; the PKCS#8 and SPKI algorithm identifiers are the same. */
export const GOST_KEY_PROFILE: Readonly<Record<GostAlgorithm, GostKeyProfile>> = {
  'gost2015-512': gostProfile('gost2015-512', 64),
  'gost2015-256': gostProfile('gost2015-256', 32),
  gost2004: gostProfile('gost2004', 32),
};

export const RSA_OIDS = {
  key: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

const GOST_BY_KEY_OID = new Map(
  (Object.keys(GOST_KEY_PROFILE) as GostAlgorithm[]).map((a) => [GOST_KEY_PROFILE[a].keyOid, a]),
);

function littleEndianToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

function bigintToLittleEndian(value: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let n = value;
  for (let i = 0; i < size; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/**
 * Reads a PKCS#8 PrivateKeyInfo. NCA stores GOST 2015 keys as an OCTET STRING holding the
 * scalar little-endian, and GOST 2004 keys as a (big-endian) INTEGER.
 */
export function privateKeyFromPkcs8(pkcs8: Uint8Array): PrivateKey {
  const info = expectTag(decodeBer(pkcs8, CODE), TAG.sequence, CODE, 'private key info');
  const algorithm = expectTag(info.children[1], TAG.sequence, CODE, 'private key algorithm');
  const oid = readOid(algorithm.children[0], CODE);
  if (oid === RSA_OIDS.key) {
    try {
      const keyObject = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
      return { algorithm: 'rsa', keyObject };
    } catch (cause) {
      throw new PkiError(CODE, 'unreadable RSA private key', { cause });
    }
  }
  const gost = GOST_BY_KEY_OID.get(oid);
  if (gost === undefined) throw new PkiError('key.unsupported', `unsupported key algorithm ${oid}`);
  const inner = decodeBer(readOctets(info.children[2], CODE), CODE);
  const scalar =
    inner.tag === TAG.integer
      ? readInteger(inner, CODE)
      : littleEndianToBigint(readOctets(inner, CODE));
  if (scalar <= 0n) throw new PkiError(CODE, 'GOST private key is not positive');
  return { algorithm: gost, scalar };
}

/** PKCS#8 PrivateKeyInfo in the NCA layout (see privateKeyFromPkcs8). */
export function privateKeyToPkcs8(key: PrivateKey): Uint8Array {
  if (key.algorithm === 'rsa') {
    return new Uint8Array(key.keyObject.export({ format: 'der', type: 'pkcs8' }));
  }
  const profile = GOST_KEY_PROFILE[key.algorithm];
  const body =
    key.algorithm === 'gost2004'
      ? der.integer(key.scalar)
      : der.octetString(bigintToLittleEndian(key.scalar, profile.size));
  return der.sequence(
    der.integer(0),
    gostAlgorithmIdentifier(key.algorithm),
    der.octetString(body),
  );
}

export function gostAlgorithmIdentifier(algorithm: GostAlgorithm): Uint8Array {
  const profile = GOST_KEY_PROFILE[algorithm];
  return der.sequence(der.oid(profile.keyOid), der.sequence(...profile.paramOids.map(der.oid)));
}

/** SubjectPublicKeyInfo DER of the key's public half. */
export function subjectPublicKeyInfo(key: PrivateKey): Uint8Array {
  if (key.algorithm === 'rsa') {
    return new Uint8Array(createPublicKey(key.keyObject).export({ format: 'der', type: 'spki' }));
  }
  let point: Uint8Array;
  try {
    point = gostPublicKey(key.algorithm, key.scalar);
  } catch (cause) {
    throw new PkiError(CODE, 'the GOST private key is out of range', { cause });
  }
  return der.sequence(
    gostAlgorithmIdentifier(key.algorithm),
    der.bitString(der.octetString(point)),
  );
}

/** The BIT STRING content of a certificate's SubjectPublicKeyInfo. */
export function certificatePublicKey(certificateDer: Uint8Array): Uint8Array | undefined {
  try {
    const cert = decodeBer(certificateDer, CODE);
    const tbs = expectTag(cert.children[0], TAG.sequence, CODE, 'tbs');
    const offset = tbs.children[0]?.tag === 0xa0 ? 1 : 0;
    const spki = expectTag(tbs.children[offset + 5], TAG.sequence, CODE, 'spki');
    return readBitString(spki.children[1], CODE);
  } catch {
    return undefined;
  }
}

/** True when the certificate carries the public half of `key`. */
export function privateKeyMatches(key: PrivateKey, certificateDer: Uint8Array): boolean {
  const fromCertificate = certificatePublicKey(certificateDer);
  if (fromCertificate === undefined) return false;
  const spki = decodeBer(subjectPublicKeyInfo(key), CODE);
  return bytesEqual(readBitString(spki.children[1], CODE), fromCertificate);
}

export function generatePrivateKey(algorithm: KeyAlgorithm, rsaBits = 2048): PrivateKey {
  if (algorithm === 'rsa') {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: rsaBits });
    return { algorithm, keyObject: privateKey };
  }
  return { algorithm, scalar: gostGenerateKey(algorithm).privateKey };
}

export interface SignatureParts {
  /** DER AlgorithmIdentifier of the digest (CMS digestAlgorithm). */
  readonly digestAlgorithm: Uint8Array;
  /** DER AlgorithmIdentifier of the signature (CMS signatureAlgorithm, X.509 signature). */
  readonly signatureAlgorithm: Uint8Array;
  readonly digestName: string;
}

/**
 * Algorithm identifiers a key signs with: sha256WithRSAEncryption or the NCA GOST OIDs, with
 * NULL parameters as NCA's own CMS messages carry them.
 */
export function signatureParts(algorithm: KeyAlgorithm): SignatureParts {
  if (algorithm === 'rsa') {
    return {
      digestAlgorithm: der.sequence(der.oid(RSA_OIDS.sha256), der.null()),
      signatureAlgorithm: der.sequence(der.oid(RSA_OIDS.sha256WithRsa), der.null()),
      digestName: 'sha256',
    };
  }
  const profile = GOST_KEY_PROFILE[algorithm];
  return {
    digestAlgorithm: der.sequence(der.oid(profile.digestOid), der.null()),
    signatureAlgorithm: der.sequence(der.oid(profile.signatureOid), der.null()),
    digestName: algorithm,
  };
}

/** The digest of `data` with the hash the key signs with. */
export function keyDigest(algorithm: KeyAlgorithm, data: Uint8Array): Uint8Array {
  if (algorithm === 'rsa') return new Uint8Array(createHash('sha256').update(data).digest());
  return gostDigest(algorithm, data);
}

/** Signs `data` (hashing inside) with PKCS#1 v1.5 SHA-256 or GOST. */
export function signData(key: PrivateKey, data: Uint8Array): Uint8Array {
  if (key.algorithm === 'rsa') return new Uint8Array(nodeSign('sha256', data, key.keyObject));
  return gostSign(key.algorithm, key.scalar, gostDigest(key.algorithm, data));
}
