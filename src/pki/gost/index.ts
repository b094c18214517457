// GOST hashing and signatures in the byte layouts NCA RK software writes into certificates and
// CMS: digests and public keys as little-endian numbers, signatures as r then s little-endian.

import { PkiError } from '../errors.js';
import { gostCurve, type GostCurve, type GostCurveName } from './curves.js';
import { Gost94, TEST_SBOX } from './gost94.js';
import {
  publicKeyPoint,
  publicPoint,
  randomScalar,
  signDigest,
  verifyDigest,
} from './signature.js';
import { Streebog } from './streebog.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';

export type GostAlgorithm = 'gost2015-256' | 'gost2015-512' | 'gost2004';

export interface GostOids {
  /** SubjectPublicKeyInfo algorithm. */
  readonly key: string;
  /** Curve parameter set inside the key algorithm parameters. */
  readonly params: string;
  /** Hash parameter set inside the key algorithm parameters. */
  readonly digestParams?: string;
  /** Certificate / CMS signature algorithm. */
  readonly signature: string;
  /** Digest algorithm (CMS digestAlgorithm). */
  readonly digest: string;
}

/**
 * NCA RK object identifiers (ST RK conventions as found in the NCA RK test material). The
 * GOST 2015-256 parameter-set OID is not in that material: it follows the 512-bit pattern.
 */
export const GOST_OIDS: Readonly<Record<GostAlgorithm, GostOids>> = {
  'gost2015-512': {
    key: '1.2.398.3.10.1.1.2.2',
    params: '1.2.398.3.10.1.1.2.2.1',
    signature: '1.2.398.3.10.1.1.2.3.2',
    digest: '1.2.398.3.10.1.3.3',
  },
  'gost2015-256': {
    key: '1.2.398.3.10.1.1.2.1',
    params: '1.2.398.3.10.1.1.2.1.1',
    signature: '1.2.398.3.10.1.1.2.3.1',
    digest: '1.2.398.3.10.1.3.2',
  },
  gost2004: {
    key: '1.2.398.3.10.1.1.1.1',
    params: '1.2.398.3.10.1.1.1.1.1',
    digestParams: '1.2.398.3.10.1.3.1.1.0',
    signature: '1.2.398.3.10.1.1.1.2',
    digest: '1.2.398.3.10.1.3.1',
  },
};

interface AlgorithmProfile {
  curve: GostCurveName;
  /** Digest, coordinate and signature-half length in bytes. */
  size: number;
  hasher: () => Hasher;
}

interface Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

const PROFILES: Readonly<Record<GostAlgorithm, AlgorithmProfile>> = {
  'gost2015-512': { curve: 'tc26-512-paramSetA', size: 64, hasher: () => new Streebog(512) },
  'gost2015-256': { curve: 'tc26-256-paramSetA', size: 32, hasher: () => new Streebog(256) },
  gost2004: { curve: 'cryptopro-A', size: 32, hasher: () => new Gost94(TEST_SBOX) },
};

function profileOf(algorithm: GostAlgorithm): AlgorithmProfile {
  const profile = Object.hasOwn(PROFILES, algorithm) ? PROFILES[algorithm] : undefined;
  if (!profile) throw new PkiError('algorithm.unsupported', `unknown GOST algorithm ${algorithm}`);
  return profile;
}

/** Little-endian bytes to integer. */
function readLE(bytes: Uint8Array): bigint {
  let hex = '';
  for (let i = bytes.length - 1; i >= 0; i--)
    hex += (bytes[i] as number).toString(16).padStart(2, '0');
  return hex === '' ? 0n : BigInt('0x' + hex);
}

/** Integer to little-endian bytes of the given length (the value must fit). */
function writeLE(value: bigint, length: number, out: Uint8Array, offset: number): void {
  let v = value;
  for (let i = 0; i < length; i++) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Streebog-256 / Streebog-512 / GOST 34.11-94 (test S-box), as in NCA RK messageDigest. */
export function gostDigest(algorithm: GostAlgorithm, data: Uint8Array): Uint8Array {
  const hasher = profileOf(algorithm).hasher();
  hasher.update(data);
  return hasher.digest();
}

/** Incremental hashing for streaming large files. */
export function gostHasher(algorithm: GostAlgorithm): Hasher {
  const hasher = profileOf(algorithm).hasher();
  return {
    update: (data) => {
      hasher.update(data);
    },
    digest: () => hasher.digest(),
  };
}

/** Recently used public keys, decoded and validated (CA keys verify many signatures). */
const keyCache = new Map<string, WeierstrassPoint<bigint>>();
const KEY_CACHE_LIMIT = 64;

function decodePublicKey(
  curve: GostCurve,
  size: number,
  publicKey: Uint8Array,
): WeierstrassPoint<bigint> | null {
  if (publicKey.length !== 2 * size) return null;
  const cacheKey = curve.name + ':' + Buffer.from(publicKey).toString('hex');
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const point = publicPoint(
    curve,
    readLE(publicKey.subarray(0, size)),
    readLE(publicKey.subarray(size)),
  );
  if (!point) return null;
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest !== undefined) keyCache.delete(oldest);
  }
  keyCache.set(cacheKey, point);
  return point;
}

/**
 * publicKey: the content of the OCTET STRING inside the SPKI BIT STRING (x||y little-endian);
 * signature as stored in X.509/CMS by NCA RK software (r||s little-endian). Any malformed or
 * out-of-range input gives false.
 */
export function gostVerify(
  algorithm: GostAlgorithm,
  publicKey: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const profile = Object.hasOwn(PROFILES, algorithm) ? PROFILES[algorithm] : undefined;
  if (!profile) return false;
  const { size } = profile;
  if (digest.length !== size || signature.length !== 2 * size) return false;
  const curve = gostCurve(profile.curve);
  const point = decodePublicKey(curve, size, publicKey);
  if (!point) return false;
  return verifyDigest(curve, point, readLE(digest), {
    r: readLE(signature.subarray(0, size)),
    s: readLE(signature.subarray(size)),
  });
}

function checkPrivateKey(curve: GostCurve, privateKey: bigint): void {
  if (typeof privateKey !== 'bigint' || privateKey <= 0n || privateKey >= curve.q) {
    throw new PkiError('key.invalid', 'GOST private key is out of range');
  }
}

/** Signs a digest; the result has gostVerify's signature layout. k is for test vectors only. */
export function gostSign(
  algorithm: GostAlgorithm,
  privateKey: bigint,
  digest: Uint8Array,
  k?: bigint,
): Uint8Array {
  const { size, curve: curveName } = profileOf(algorithm);
  const curve = gostCurve(curveName);
  checkPrivateKey(curve, privateKey);
  if (digest.length !== size) {
    throw new PkiError('digest.invalid', `GOST digest must be ${size} bytes`);
  }
  if (k !== undefined && (typeof k !== 'bigint' || k <= 0n || k >= curve.q)) {
    throw new PkiError('key.invalid', 'GOST signing nonce is out of range');
  }
  let value;
  try {
    value = signDigest(curve, privateKey, readLE(digest), k);
  } catch (cause) {
    throw new PkiError('key.invalid', 'the given nonce cannot produce a signature', { cause });
  }
  const out = new Uint8Array(2 * size);
  writeLE(value.r, size, out, 0);
  writeLE(value.s, size, out, size);
  return out;
}

/** The public key (x||y little-endian) for a private key. */
export function gostPublicKey(algorithm: GostAlgorithm, privateKey: bigint): Uint8Array {
  const { size, curve: curveName } = profileOf(algorithm);
  const curve = gostCurve(curveName);
  checkPrivateKey(curve, privateKey);
  const { x, y } = publicKeyPoint(curve, privateKey).toAffine();
  const out = new Uint8Array(2 * size);
  writeLE(x, size, out, 0);
  writeLE(y, size, out, size);
  return out;
}

export function gostGenerateKey(algorithm: GostAlgorithm): {
  privateKey: bigint;
  publicKey: Uint8Array;
} {
  const curve = gostCurve(profileOf(algorithm).curve);
  const privateKey = randomScalar(curve.q);
  return { privateKey, publicKey: gostPublicKey(algorithm, privateKey) };
}
