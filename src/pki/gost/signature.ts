// GOST R 34.10-2012 (and 2001 / ST RK GOST 34.310-2004) signing and verification on integers;
// byte layouts are handled by the callers (index.ts).

import { randomBytes } from 'node:crypto';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import type { GostCurve } from './curves.js';
import { fastVerifier } from './fast-verify.js';

export interface GostSignatureValue {
  r: bigint;
  s: bigint;
}

function modq(x: bigint, q: bigint): bigint {
  const r = x % q;
  return r < 0n ? r + q : r;
}

/** Inverse modulo the (prime) group order by the extended Euclidean algorithm. */
function invert(a: bigint, q: bigint): bigint {
  let [oldR, r] = [modq(a, q), q];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const quotient = oldR / r;
    [oldR, r] = [r, oldR - quotient * r];
    [oldS, s] = [s, oldS - quotient * s];
  }
  return modq(oldS, q);
}

/** e = alpha mod q, and 1 if that is zero (GOST R 34.10-2012, 6.1 step 2). */
function digestScalar(alpha: bigint, q: bigint): bigint {
  const e = modq(alpha, q);
  return e === 0n ? 1n : e;
}

/** A public key point checked to be on the curve and in the prime-order subgroup, or null. */
export function publicPoint(
  curve: GostCurve,
  x: bigint,
  y: bigint,
): WeierstrassPoint<bigint> | null {
  if (x >= curve.p || y >= curve.p) return null;
  try {
    const point = curve.Point.fromAffine({ x, y });
    point.assertValidity();
    if (point.is0()) return null;
    return point;
  } catch {
    return null;
  }
}

/** Verification (GOST R 34.10-2012, 6.2) against the digest read as the integer alpha. */
export function verifyDigest(
  curve: GostCurve,
  publicKey: WeierstrassPoint<bigint>,
  alpha: bigint,
  { r, s }: GostSignatureValue,
): boolean {
  const q = curve.q;
  if (r <= 0n || r >= q || s <= 0n || s >= q) return false;
  const v = invert(digestScalar(alpha, q), q);
  const z1 = modq(s * v, q);
  const z2 = modq(-r * v, q);
  const fast = fastVerifier(curve);
  if (fast) {
    // x mod q = r means x = r + k*q for some k with x < p (k < 4 with cofactor 4).
    const candidates: bigint[] = [];
    for (let x = r; x < curve.p; x += q) candidates.push(x);
    const result = fast.combinationHasX(publicKey, z1, z2, candidates);
    if (result !== 'fallback') return result;
  }
  return genericCombinationX(curve, publicKey, z1, z2) === r;
}

/** x(z1*G + z2*Q) mod q with the library's complete formulas, or null for the zero point. */
export function genericCombinationX(
  curve: GostCurve,
  publicKey: WeierstrassPoint<bigint>,
  z1: bigint,
  z2: bigint,
): bigint | null {
  const c = curve.Point.BASE.multiplyUnsafe(z1).add(publicKey.multiplyUnsafe(z2));
  if (c.is0()) return null;
  return modq(c.toAffine().x, curve.q);
}

/** A uniformly random scalar in [1, q - 1] from the operating system's generator. */
export function randomScalar(q: bigint): bigint {
  const bytes = Math.ceil(q.toString(2).length / 8) + 16;
  for (;;) {
    const candidate = modq(BigInt('0x' + randomBytes(bytes).toString('hex')), q);
    if (candidate !== 0n) return candidate;
  }
}

/**
 * Signing (GOST R 34.10-2012, 6.1). k*G uses noble's constant-time multiplication; a k given by
 * the caller (test vectors) is used once and must not be reused with another digest.
 */
export function signDigest(
  curve: GostCurve,
  privateKey: bigint,
  alpha: bigint,
  fixedK?: bigint,
): GostSignatureValue {
  const q = curve.q;
  const e = digestScalar(alpha, q);
  for (;;) {
    const k = fixedK ?? randomScalar(q);
    const r = modq(curve.Point.BASE.multiply(k).toAffine().x, q);
    const s = modq(r * privateKey + k * e, q);
    if (r !== 0n && s !== 0n) return { r, s };
    if (fixedK !== undefined) throw new RangeError('the given k yields a zero r or s');
  }
}

/** Q = d*G with constant-time multiplication. */
export function publicKeyPoint(curve: GostCurve, privateKey: bigint): WeierstrassPoint<bigint> {
  return curve.Point.BASE.multiply(privateKey);
}
