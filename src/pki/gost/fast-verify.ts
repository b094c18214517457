// u1*G + u2*Q for signature verification on curves with p = 2^n - c: one shared doubling chain
// (Strauss-Shamir) with width-8 wNAF over a fixed affine table of G and width-5 wNAF over Q,
// the point arithmetic running in the generated WebAssembly module.

import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import type { GostCurve } from './curves.js';
import { jacobianModule, type JacobianModule } from './jacobian-wasm.js';

const G_WINDOW = 8;
const Q_WINDOW = 5;
const G_ENTRIES = 1 << (G_WINDOW - 2);
const Q_ENTRIES = 1 << (Q_WINDOW - 2);

export interface FastVerifier {
  /**
   * Whether the affine x of u1*G + u2*Q is one of the candidates, or 'fallback' when the sum
   * came out as zero: either it is, or an addition met equal or opposite points (never for
   * honest inputs), and the caller decides with generic code.
   */
  combinationHasX(
    q: WeierstrassPoint<bigint>,
    u1: bigint,
    u2: bigint,
    candidates: readonly bigint[],
  ): boolean | 'fallback';
}

/** Signed odd digits d_i with scalar = sum d_i 2^i, |d_i| < 2^(w-1), nonzero digits w apart. */
export function wnaf(scalar: bigint, width: number): Int16Array {
  const binary = scalar.toString(2);
  const n = binary.length;
  const bits = new Uint8Array(n + width + 2);
  for (let i = 0; i < n; i++) bits[i] = binary.charCodeAt(n - 1 - i) - 48;
  const digits = new Int16Array(n + 1);
  const full = 1 << width;
  const half = full >> 1;
  let i = 0;
  while (i <= n) {
    if (bits[i] === 0) {
      i++;
      continue;
    }
    let window = 0;
    for (let j = 0; j < width; j++) window |= (bits[i + j] as number) << j;
    const digit = window >= half ? window - full : window;
    digits[i] = digit;
    for (let j = 0; j < width; j++) bits[i + j] = 0;
    if (digit < 0) {
      let k = i + width;
      while (bits[k] === 1) bits[k++] = 0;
      bits[k] = 1;
    }
    i += width;
  }
  return digits;
}

class WasmVerifier implements FastVerifier {
  private readonly m: JacobianModule;
  private readonly words: Uint32Array;
  private readonly limbs: number;
  private readonly limbBits: bigint;
  private readonly limbMask: bigint;
  private readonly p: bigint;
  private readonly qTable: number;
  private readonly gTable: number;

  constructor(curve: GostCurve) {
    const { Point } = curve;
    this.p = curve.p;
    this.m = jacobianModule(curve.p, Point.CURVE().a);
    this.limbs = this.m.layout.limbs;
    this.limbBits = BigInt(this.m.layout.limbBits);
    this.limbMask = (1n << this.limbBits) - 1n;
    this.words = new Uint32Array(this.m.memory.buffer);
    const { layout } = this.m;
    this.qTable = layout.tables;
    this.gTable = this.qTable + 2 * Q_ENTRIES * 3 * layout.element;
    this.write(layout.a, Point.CURVE().a);
    this.write(layout.zero, 0n);
    // Odd multiples 1, 3, ..., 2^(w-1) - 1 of G and their negatives, affine.
    const g = Point.BASE;
    const twoG = g.double();
    let multiple = g;
    for (let i = 0; i < G_ENTRIES; i++) {
      const { x, y } = multiple.toAffine();
      this.write(this.gEntry(i), x);
      this.write(this.gEntry(i) + layout.element, y);
      this.write(this.gEntry(G_ENTRIES + i), x);
      this.write(this.gEntry(G_ENTRIES + i) + layout.element, y === 0n ? 0n : curve.p - y);
      multiple = multiple.add(twoG);
    }
  }

  private gEntry(index: number): number {
    return this.gTable + index * 2 * this.m.layout.element;
  }

  private qEntry(index: number): number {
    return this.qTable + index * 3 * this.m.layout.element;
  }

  private write(offset: number, value: bigint): void {
    const base = offset >> 2;
    let v = value;
    for (let i = 0; i < this.limbs; i++) {
      this.words[base + i] = Number(v & this.limbMask);
      v >>= this.limbBits;
    }
  }

  private read(offset: number): bigint {
    const base = offset >> 2;
    let value = 0n;
    for (let i = this.limbs - 1; i >= 0; i--) {
      value = (value << this.limbBits) | BigInt(this.words[base + i] as number);
    }
    return value;
  }

  private copy(to: number, from: number, elements: number): void {
    const n = (elements * this.m.layout.element) >> 2;
    this.words.copyWithin(to >> 2, from >> 2, (from >> 2) + n);
  }

  /** Fills the Q table with Q, 3Q, ..., 15Q and their negatives. */
  private buildQTable(q: WeierstrassPoint<bigint>): void {
    const { layout } = this.m;
    const e = layout.element;
    const { x, y } = q.toAffine();
    const first = this.qEntry(0);
    this.write(first, x);
    this.write(first + e, y);
    this.write(first + 2 * e, 1n);
    this.copy(layout.acc, first, 3);
    this.m.double(layout.acc);
    for (let i = 1; i < Q_ENTRIES; i++) {
      this.copy(this.qEntry(i), this.qEntry(i - 1), 3);
      this.m.add(this.qEntry(i), layout.acc);
    }
    for (let i = 0; i < Q_ENTRIES; i++) {
      const pos = this.qEntry(i);
      const neg = this.qEntry(Q_ENTRIES + i);
      this.copy(neg, pos, 3);
      this.m.subMod(neg + e, layout.zero, pos + e);
    }
  }

  combinationHasX(
    q: WeierstrassPoint<bigint>,
    u1: bigint,
    u2: bigint,
    candidates: readonly bigint[],
  ): boolean | 'fallback' {
    this.buildQTable(q);
    const { layout } = this.m;
    const e = layout.element;
    const acc = layout.acc;
    const gDigits = wnaf(u1, G_WINDOW);
    const qDigits = wnaf(u2, Q_WINDOW);
    let started = false;
    for (let i = Math.max(gDigits.length, qDigits.length) - 1; i >= 0; i--) {
      if (started) this.m.double(acc);
      const dg = gDigits[i] ?? 0;
      if (dg !== 0) {
        const entry = this.gEntry(((Math.abs(dg) - 1) >> 1) + (dg < 0 ? G_ENTRIES : 0));
        if (!started) {
          this.copy(acc, entry, 2);
          this.write(acc + 2 * e, 1n);
          started = true;
        } else {
          this.m.addAffine(acc, entry);
        }
      }
      const dq = qDigits[i] ?? 0;
      if (dq !== 0) {
        const entry = this.qEntry(((Math.abs(dq) - 1) >> 1) + (dq < 0 ? Q_ENTRIES : 0));
        if (!started) {
          this.copy(acc, entry, 3);
          started = true;
        } else {
          this.m.add(acc, entry);
        }
      }
    }
    if (!started) return 'fallback';
    const p = this.p;
    const bigX = this.read(acc) % p;
    const z = this.read(acc + 2 * e) % p;
    if (z === 0n) return 'fallback';
    const zz = (z * z) % p;
    // x = X / Z^2, so x = t exactly when X = t * Z^2 (mod p): no inversion needed.
    return candidates.some((t) => t < p && (t * zz) % p === bigX);
  }
}

const verifiers = new WeakMap<GostCurve, FastVerifier | null>();

/** The fast verifier for a curve whose prime has the form 2^n - c with a small c, else null. */
export function fastVerifier(curve: GostCurve): FastVerifier | null {
  if (verifiers.has(curve)) return verifiers.get(curve) ?? null;
  let verifier: FastVerifier | null = null;
  const bits = curve.p.toString(2).length;
  if ((1n << BigInt(bits)) - curve.p < 1n << 12n) verifier = new WasmVerifier(curve);
  verifiers.set(curve, verifier);
  return verifier;
}
