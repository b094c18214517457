// Signature algorithms of the EDS module: names for algorithm identifiers, digests, and signature
// verification (RSA and ECDSA through node:crypto, GOST through ./gost).

import {
  constants,
  createHash,
  createPublicKey,
  publicDecrypt,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import type { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { GOST_OIDS, gostDigest, gostVerify, type GostAlgorithm } from './gost/index.js';
import { PkiError } from './errors.js';
import { bytesEqual, concatBytes, readDer, readOid } from './ber.js';

export type SignatureAlgorithmName =
  | 'rsa-pkcs1-sha1'
  | 'rsa-pkcs1-sha256'
  | 'rsa-pkcs1-sha384'
  | 'rsa-pkcs1-sha512'
  | 'rsa-pss'
  | 'ecdsa-sha256'
  | 'ecdsa-sha384'
  | 'ecdsa-sha512'
  | 'gost2015-256'
  | 'gost2015-512'
  | 'gost2004';

export type DigestName =
  'sha1' | 'sha256' | 'sha384' | 'sha512' | 'gost2015-256' | 'gost2015-512' | 'gost2004';

/** Key families of subject public keys. */
export type KeyAlgorithmName = 'rsa' | 'rsa-pss' | 'ecdsa' | GostAlgorithm;

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  ecPublicKey: '1.2.840.10045.2.1',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  gost2015_512Key: GOST_OIDS['gost2015-512'].key,
  gost2015_256Key: GOST_OIDS['gost2015-256'].key,
  gost2004Key: GOST_OIDS.gost2004.key,
  gost2015_512Signature: GOST_OIDS['gost2015-512'].signature,
  gost2015_256Signature: GOST_OIDS['gost2015-256'].signature,
  gost2004Signature: GOST_OIDS.gost2004.signature,
  gost2015_512Digest: GOST_OIDS['gost2015-512'].digest,
  gost2015_256Digest: GOST_OIDS['gost2015-256'].digest,
  gost2004Digest: GOST_OIDS.gost2004.digest,
} as const;

const SIGNATURE_ALGORITHMS: Record<string, SignatureAlgorithmName> = {
  '1.2.840.113549.1.1.5': 'rsa-pkcs1-sha1',
  '1.2.840.113549.1.1.11': 'rsa-pkcs1-sha256',
  '1.2.840.113549.1.1.12': 'rsa-pkcs1-sha384',
  '1.2.840.113549.1.1.13': 'rsa-pkcs1-sha512',
  [OID.rsaPss]: 'rsa-pss',
  '1.2.840.10045.4.3.2': 'ecdsa-sha256',
  '1.2.840.10045.4.3.3': 'ecdsa-sha384',
  '1.2.840.10045.4.3.4': 'ecdsa-sha512',
  [OID.gost2015_512Signature]: 'gost2015-512',
  [OID.gost2015_256Signature]: 'gost2015-256',
  [OID.gost2004Signature]: 'gost2004',
};

/** Signature algorithm OID for each name (PSS needs parameters besides). */
export const SIGNATURE_ALGORITHM_OIDS: Record<SignatureAlgorithmName, string> = Object.fromEntries(
  Object.entries(SIGNATURE_ALGORITHMS).map(([oid, name]) => [name, oid]),
) as Record<SignatureAlgorithmName, string>;

// Only digests whose byte order and parameters are unambiguous: NCA's own GOST digest OIDs, and
// the TC26 Streebog OIDs (Streebog has no parameter set). GOST R 34.11-94 under 1.2.643.2.2.9
// means the CryptoPro S-box, which the NCA hash (test S-box) is not, so it is left out.
const DIGEST_ALGORITHMS: Record<string, DigestName> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
  [OID.gost2015_512Digest]: 'gost2015-512',
  [OID.gost2015_256Digest]: 'gost2015-256',
  [OID.gost2004Digest]: 'gost2004',
  '1.2.643.7.1.1.2.2': 'gost2015-256',
  '1.2.643.7.1.1.2.3': 'gost2015-512',
};

/** Digest OID for each digest name (the NCA OIDs for GOST). */
export const DIGEST_OIDS: Record<DigestName, string> = {
  sha1: OID.sha1,
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
  'gost2015-512': OID.gost2015_512Digest,
  'gost2015-256': OID.gost2015_256Digest,
  gost2004: OID.gost2004Digest,
};

const KEY_ALGORITHMS: Record<string, KeyAlgorithmName> = {
  [OID.rsaEncryption]: 'rsa',
  [OID.rsaPss]: 'rsa-pss',
  [OID.ecPublicKey]: 'ecdsa',
  [OID.gost2015_512Key]: 'gost2015-512',
  [OID.gost2015_256Key]: 'gost2015-256',
  [OID.gost2004Key]: 'gost2004',
};

/** Digest that each fixed signature algorithm hashes with (PSS names its own). */
const SIGNATURE_DIGESTS: Record<Exclude<SignatureAlgorithmName, 'rsa-pss'>, DigestName> = {
  'rsa-pkcs1-sha1': 'sha1',
  'rsa-pkcs1-sha256': 'sha256',
  'rsa-pkcs1-sha384': 'sha384',
  'rsa-pkcs1-sha512': 'sha512',
  'ecdsa-sha256': 'sha256',
  'ecdsa-sha384': 'sha384',
  'ecdsa-sha512': 'sha512',
  'gost2015-256': 'gost2015-256',
  'gost2015-512': 'gost2015-512',
  gost2004: 'gost2004',
};

// DER prefixes of PKCS#1 v1.5 DigestInfo (RFC 8017 section 9.2 note 1).
const DIGEST_INFO_PREFIX: Partial<Record<DigestName, string>> = {
  sha1: '3021300906052b0e03021a05000414',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

const EC_CURVES: Record<string, typeof p256> = {
  '1.2.840.10045.3.1.7': p256,
  '1.3.132.0.34': p384,
  '1.3.132.0.35': p521,
};

const ECDSA_NAMES = new Set<SignatureAlgorithmName>([
  'ecdsa-sha256',
  'ecdsa-sha384',
  'ecdsa-sha512',
]);

function unsupported(what: string): PkiError {
  return new PkiError('algorithm.unsupported', `unsupported algorithm ${what}`);
}

export function signatureAlgorithmName(alg: AlgorithmIdentifier): SignatureAlgorithmName {
  const name = SIGNATURE_ALGORITHMS[alg.algorithm];
  if (!name) throw unsupported(alg.algorithm);
  return name;
}

export function digestOidName(oid: string): DigestName {
  const name = DIGEST_ALGORITHMS[oid];
  if (!name) throw unsupported(oid);
  return name;
}

export function keyAlgorithmName(spki: SubjectPublicKeyInfo): KeyAlgorithmName {
  const name = KEY_ALGORITHMS[spki.algorithm.algorithm];
  if (!name) throw unsupported(spki.algorithm.algorithm);
  return name;
}

function isGost(name: DigestName | SignatureAlgorithmName): name is GostAlgorithm {
  return name === 'gost2015-256' || name === 'gost2015-512' || name === 'gost2004';
}

export function digest(name: DigestName, data: Uint8Array): Uint8Array {
  if (isGost(name)) return gostDigest(name, data);
  return Uint8Array.from(createHash(name).update(data).digest());
}

interface PssParameters {
  hash: DigestName;
  saltLength: number;
}

function pssParameters(alg: AlgorithmIdentifier): PssParameters {
  if (!alg.parameters) return { hash: 'sha1', saltLength: 20 };
  let params: RsaSaPssParams;
  try {
    params = AsnConvert.parse(alg.parameters, RsaSaPssParams);
  } catch (cause) {
    throw new PkiError('algorithm.unsupported', 'malformed RSASSA-PSS parameters', { cause });
  }
  const hash = digestOidName(params.hashAlgorithm.algorithm);
  if (isGost(hash)) throw unsupported('RSASSA-PSS with a GOST digest');
  if (params.maskGenAlgorithm.algorithm !== OID.mgf1) throw unsupported('PSS mask generation');
  const mgfParams = params.maskGenAlgorithm.parameters;
  if (mgfParams) {
    const mgfHash = AsnConvert.parse(mgfParams, AlgorithmIdentifier);
    if (mgfHash.algorithm !== DIGEST_OIDS[hash]) {
      throw unsupported('PSS with an MGF1 digest different from the message digest');
    }
  }
  if (params.trailerField !== 1) throw unsupported('PSS trailer field');
  return { hash, saltLength: params.saltLength };
}

/** The digest a signature algorithm hashes with. */
export function signatureDigestName(alg: AlgorithmIdentifier): DigestName {
  const name = signatureAlgorithmName(alg);
  return name === 'rsa-pss' ? pssParameters(alg).hash : SIGNATURE_DIGESTS[name];
}

function spkiDer(spki: SubjectPublicKeyInfo): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(spki));
}

/** Node's key of each public key read, by the parsed key (certificates are parsed once). */
const nodeKeys = new WeakMap<SubjectPublicKeyInfo, KeyObject | null>();

function nodeKey(spki: SubjectPublicKeyInfo): KeyObject | undefined {
  const known = nodeKeys.get(spki);
  if (known !== undefined) return known ?? undefined;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.from(spkiDer(spki)), format: 'der', type: 'spki' });
  } catch {
    key = null;
  }
  nodeKeys.set(spki, key);
  return key ?? undefined;
}

/** GOST public key bytes: the OCTET STRING inside the SPKI BIT STRING. */
export function gostPublicKey(spki: SubjectPublicKeyInfo): Uint8Array | undefined {
  try {
    return new Uint8Array(AsnConvert.parse(spki.subjectPublicKey, OctetString).buffer);
  } catch {
    return undefined;
  }
}

function isRsaKey(spki: SubjectPublicKeyInfo): boolean {
  const key = KEY_ALGORITHMS[spki.algorithm.algorithm];
  return key === 'rsa' || key === 'rsa-pss';
}

/**
 * Verifies `signature` over `signed` (hashing inside). False for a wrong signature, a wrong key,
 * or a key that does not match the algorithm; PkiError('algorithm.unsupported') for algorithms
 * the module does not know.
 */
export function verifySignature(
  alg: AlgorithmIdentifier,
  spki: SubjectPublicKeyInfo,
  signed: Uint8Array,
  signature: Uint8Array,
): boolean {
  const name = signatureAlgorithmName(alg);
  if (isGost(name)) {
    if (KEY_ALGORITHMS[spki.algorithm.algorithm] !== name) return false;
    return verifyGost(name, spki, gostDigest(name, signed), signature);
  }
  if (name === 'rsa-pss') {
    const { hash, saltLength } = pssParameters(alg);
    const key = isRsaKey(spki) ? nodeKey(spki) : undefined;
    if (!key) return false;
    const options = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength };
    return safely(() => nodeVerify(hash, signed, options, signature));
  }
  const hash = SIGNATURE_DIGESTS[name];
  if (ECDSA_NAMES.has(name)) {
    return verifyEcdsaDigest(spki, digest(hash, signed), signature);
  }
  const key = KEY_ALGORITHMS[spki.algorithm.algorithm] === 'rsa' ? nodeKey(spki) : undefined;
  if (!key) return false;
  return safely(() => nodeVerify(hash, signed, key, signature));
}

/** Verifies a signature when only the digest of the signed bytes is at hand. */
export function verifyDigestSignature(
  alg: AlgorithmIdentifier,
  spki: SubjectPublicKeyInfo,
  digestBytes: Uint8Array,
  signature: Uint8Array,
): boolean {
  const name = signatureAlgorithmName(alg);
  if (isGost(name)) return verifyGost(name, spki, digestBytes, signature);
  if (ECDSA_NAMES.has(name)) return verifyEcdsaDigest(spki, digestBytes, signature);
  const key = isRsaKey(spki) ? nodeKey(spki) : undefined;
  if (!key) return false;
  if (name === 'rsa-pss') {
    const { hash, saltLength } = pssParameters(alg);
    return safely(() => verifyPssDigest(key, hash, saltLength, digestBytes, signature));
  }
  const prefix = DIGEST_INFO_PREFIX[SIGNATURE_DIGESTS[name]] ?? '';
  const expected = concatBytes([Buffer.from(prefix, 'hex'), digestBytes]);
  return safely(() => {
    const recovered = publicDecrypt(
      { key, padding: constants.RSA_PKCS1_PADDING },
      Buffer.from(signature),
    );
    return bytesEqual(recovered, expected);
  });
}

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function verifyGost(
  name: GostAlgorithm,
  spki: SubjectPublicKeyInfo,
  digestBytes: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (KEY_ALGORITHMS[spki.algorithm.algorithm] !== name) return false;
  const publicKey = gostPublicKey(spki);
  if (!publicKey) return false;
  return safely(() => gostVerify(name, publicKey, digestBytes, signature));
}

function verifyEcdsaDigest(
  spki: SubjectPublicKeyInfo,
  digestBytes: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (spki.algorithm.algorithm !== OID.ecPublicKey || !spki.algorithm.parameters) return false;
  const parameters = new Uint8Array(spki.algorithm.parameters);
  let curveOid: string;
  try {
    curveOid = readOid(readDer(parameters, 'algorithm.malformed'), 'algorithm.malformed');
  } catch {
    return false;
  }
  const curve = EC_CURVES[curveOid];
  if (!curve) throw unsupported(`EC curve ${curveOid}`);
  const point = new Uint8Array(spki.subjectPublicKey);
  return safely(() =>
    curve.verify(signature, digestBytes, point, { prehash: false, format: 'der', lowS: false }),
  );
}

// EMSA-PSS-VERIFY (RFC 8017 section 9.1.2) over a raw RSA public operation, for the case where
// node:crypto cannot be given the digest alone.
function verifyPssDigest(
  key: KeyObject,
  hash: DigestName,
  saltLength: number,
  mHash: Uint8Array,
  signature: Uint8Array,
): boolean {
  const modulusBits = (key.asymmetricKeyDetails?.modulusLength ?? 0) - 1;
  const emLength = Math.ceil(modulusBits / 8);
  const raw = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, Buffer.from(signature));
  const em = raw.subarray(raw.length - emLength);
  if (raw.subarray(0, raw.length - emLength).some((octet) => octet !== 0)) return false;
  const hLength = mHash.length;
  if (emLength < hLength + saltLength + 2 || em[emLength - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLength - hLength - 1);
  const h = em.subarray(emLength - hLength - 1, emLength - 1);
  const zeroBits = 8 * emLength - modulusBits;
  if (((maskedDb[0] as number) & (0xff << (8 - zeroBits)) & 0xff) !== 0) return false;
  const mask = mgf1(hash, h, maskedDb.length);
  const db = maskedDb.map((octet, i) => octet ^ (mask[i] as number));
  db[0] = (db[0] as number) & (0xff >> zeroBits);
  const separator = emLength - hLength - saltLength - 2;
  if (db.subarray(0, separator).some((octet) => octet !== 0)) return false;
  if (db[separator] !== 0x01) return false;
  const salt = db.subarray(db.length - saltLength);
  const mPrime = concatBytes([new Uint8Array(8), mHash, salt]);
  return bytesEqual(digest(hash, mPrime), h);
}

function mgf1(hash: DigestName, seed: Uint8Array, length: number): Uint8Array {
  const blocks: Uint8Array[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    // Uint8Array.of keeps the low octet of each value, giving the big-endian counter.
    const octets = Uint8Array.of(counter >>> 24, counter >>> 16, counter >>> 8, counter);
    const block = digest(hash, concatBytes([seed, octets]));
    blocks.push(block);
    produced += block.length;
  }
  return concatBytes(blocks).subarray(0, length);
}
