// A small WebAssembly module, generated here byte by byte, doing Jacobian point doubling and
// addition modulo p = 2^n - c on 26-28-bit limbs: several times faster than BigInt arithmetic.

import { Body, OP, instantiate, uleb, type WasmFunction } from './wasm-emit.js';

/** Byte offsets of everything in the module's memory. */
export interface JacobianLayout {
  /** Limbs per field element, each stored in a u32. */
  limbs: number;
  /** Bits per limb. */
  limbBits: number;
  /** Bytes per field element. */
  element: number;
  /** The constant a of the curve. */
  a: number;
  /** An all-zero element. */
  zero: number;
  /** The accumulator point (X, Y, Z). */
  acc: number;
  /** First byte of free space for point tables. */
  tables: number;
}

export interface JacobianModule {
  layout: JacobianLayout;
  memory: { readonly buffer: ArrayBuffer };
  /** P = 2P in place (P at byte offset p). */
  double(p: number): void;
  /**
   * P = P + Q, both Jacobian. Equal or opposite inputs are not special-cased: they give Z = 0,
   * which every later step keeps, so the caller sees it at the end.
   */
  add(p: number, q: number): void;
  /** P = P + Q with Q affine (x, y); the same caveat as add. */
  addAffine(p: number, q: number): void;
  /** d = a * b mod p; like every field routine, the result is not fully reduced. */
  mulMod(d: number, a: number, b: number): void;
  /** d = a^2 mod p. */
  sqrMod(d: number, a: number): void;
  /** d = a + b mod p. */
  addMod(d: number, a: number, b: number): void;
  /** d = a - b mod p. */
  subMod(d: number, a: number, b: number): void;
  /** d = a * k mod p for a small non-negative integer k. */
  scaleMod(d: number, a: number, k: number): void;
}

/** Field routines; parameters are i32 byte addresses, extra locals are i64. */
type FieldFunction = WasmFunction;

/** Limb geometry: L limbs of w bits (stored one per u32), N = L * w >= n, 2^N = fold mod p. */
interface Limbs {
  count: number;
  bits: number;
  mask: bigint;
  /** 2^N mod p = c * 2^(N - n), small enough that fold * limb fits easily in 64 bits. */
  fold: bigint;
}

/**
 * Adds carry * 2^N to the element at d (whose limbs are already below 2^w): 2^N is congruent to
 * `fold`, so add carry * fold at limb 0 and propagate. If that wraps past 2^N, what is left is
 * below carry * fold < 2^(2w), so the second pass, adding fold once more, needs two limbs.
 */
function foldCarry(f: Body, d: number, limbs: Limbs, carry: number, s: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < (pass === 0 ? limbs.count : 2); i++) {
      f.load(d, 4 * i);
      if (i === 0) f.get(carry).i64(limbs.fold).op(OP.i64Mul);
      else f.get(carry);
      f.op(OP.i64Add).set(s);
      f.get(d).get(s).i64(limbs.mask).op(OP.i64And);
      f.bytes.push(OP.i64Store32, 2, ...uleb(4 * i));
      f.get(s).i64(BigInt(limbs.bits)).op(OP.i64ShrU).set(carry);
    }
  }
}

/** Stores s & mask as limb i of d and sets carry = s >> w. */
function storeLimb(f: Body, d: number, i: number, limbs: Limbs, s: number, carry: number): void {
  f.get(d).get(s).i64(limbs.mask).op(OP.i64And);
  f.bytes.push(OP.i64Store32, 2, ...uleb(4 * i));
  f.get(s).i64(BigInt(limbs.bits)).op(OP.i64ShrU).set(carry);
}

/**
 * d = a * b (or a^2) mod p with limbs below 2^w. A column sums at most L products of two
 * w-bit limbs, below 2^61 for the sizes chosen; the high half is folded with 2^N = fold (mod p).
 */
function fieldMul(limbs: Limbs, scratch: number, square: boolean): FieldFunction {
  const L = limbs.count;
  const [d, a, b] = [0, 1, 2];
  const params = square ? 2 : 3;
  const [sum, carry, s] = [params, params + 1, params + 2];
  // The limbs of a (and b) are loaded once into locals.
  const aLocal = (i: number): number => params + 3 + i;
  const bLocal = (i: number): number => params + 3 + L + i;
  const i64Locals = 3 + (square ? L : 2 * L);
  const scratchLocal = params + i64Locals;
  const f = new Body();
  f.i32(scratch).set(scratchLocal);
  for (let i = 0; i < L; i++) {
    f.load(a, 4 * i).set(aLocal(i));
    if (!square) f.load(b, 4 * i).set(bLocal(i));
  }
  f.i64(0n).set(carry);
  for (let k = 0; k < 2 * L - 1; k++) {
    f.get(carry).set(sum);
    const from = Math.max(0, k - L + 1);
    const to = Math.min(k, L - 1);
    if (square) {
      let doubled = false;
      for (let i = from; i < k - i; i++) {
        f.get(aLocal(i))
          .get(aLocal(k - i))
          .op(OP.i64Mul);
        if (doubled) f.op(OP.i64Add);
        doubled = true;
      }
      if (doubled) f.i64(1n).op(OP.i64Shl).get(sum).op(OP.i64Add).set(sum);
      if (k % 2 === 0) {
        f.get(aLocal(k / 2))
          .get(aLocal(k / 2))
          .op(OP.i64Mul)
          .get(sum)
          .op(OP.i64Add)
          .set(sum);
      }
    } else {
      for (let i = from; i <= to; i++) {
        f.get(aLocal(i))
          .get(bLocal(k - i))
          .op(OP.i64Mul)
          .get(sum)
          .op(OP.i64Add)
          .set(sum);
      }
    }
    storeLimb(f, scratchLocal, k, limbs, sum, carry);
  }
  f.get(scratchLocal).get(carry);
  f.bytes.push(OP.i64Store32, 2, ...uleb(4 * (2 * L - 1)));
  f.i64(0n).set(carry);
  for (let i = 0; i < L; i++) {
    f.load(scratchLocal, 4 * i)
      .load(scratchLocal, 4 * (L + i))
      .i64(limbs.fold)
      .op(OP.i64Mul)
      .op(OP.i64Add)
      .get(carry)
      .op(OP.i64Add)
      .set(s);
    storeLimb(f, d, i, limbs, s, carry);
  }
  foldCarry(f, d, limbs, carry, s);
  return { params, results: 0, i64Locals, i32Locals: 1, body: f };
}

/** d = a + b mod p. */
function fieldAdd(limbs: Limbs): FieldFunction {
  const [d, a, b, carry, s] = [0, 1, 2, 3, 4];
  const f = new Body();
  f.i64(0n).set(carry);
  for (let i = 0; i < limbs.count; i++) {
    f.load(a, 4 * i)
      .load(b, 4 * i)
      .op(OP.i64Add)
      .get(carry)
      .op(OP.i64Add)
      .set(s);
    storeLimb(f, d, i, limbs, s, carry);
  }
  foldCarry(f, d, limbs, carry, s);
  return { params: 3, results: 0, i64Locals: 2, body: f };
}

/**
 * d = a - b mod p: a borrow out means 2^N was added, so subtract fold. If that borrows again,
 * the value is now at least 2^N - fold and a second subtraction cannot borrow past limb 1.
 */
function fieldSub(limbs: Limbs): FieldFunction {
  const [d, a, b, borrow, s] = [0, 1, 2, 3, 4];
  const f = new Body();
  const w = BigInt(limbs.bits);
  const signedStore = (i: number): void => {
    f.get(d).get(s).i64(limbs.mask).op(OP.i64And);
    f.bytes.push(OP.i64Store32, 2, ...uleb(4 * i));
    f.get(s).i64(w).op(OP.i64ShrS).set(borrow);
  };
  f.i64(0n).set(borrow);
  for (let i = 0; i < limbs.count; i++) {
    f.load(a, 4 * i)
      .load(b, 4 * i)
      .op(OP.i64Sub)
      .get(borrow)
      .op(OP.i64Add)
      .set(s);
    signedStore(i);
  }
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < (pass === 0 ? limbs.count : 2); i++) {
      f.load(d, 4 * i);
      if (i === 0) f.get(borrow).i64(limbs.fold).op(OP.i64Mul);
      else f.get(borrow);
      f.op(OP.i64Add).set(s);
      signedStore(i);
    }
  }
  return { params: 3, results: 0, i64Locals: 2, body: f };
}

/** d = a * k mod p for a small k (param 2, below 2^16): one pass instead of repeated adds. */
function fieldScale(limbs: Limbs): FieldFunction {
  const [d, a, k, carry, s, factor] = [0, 1, 2, 3, 4, 5];
  const f = new Body();
  f.get(k).op(OP.i64ExtendI32U).set(factor);
  f.i64(0n).set(carry);
  for (let i = 0; i < limbs.count; i++) {
    f.load(a, 4 * i)
      .get(factor)
      .op(OP.i64Mul)
      .get(carry)
      .op(OP.i64Add)
      .set(s);
    storeLimb(f, d, i, limbs, s, carry);
  }
  foldCarry(f, d, limbs, carry, s);
  return { params: 3, results: 0, i64Locals: 3, body: f };
}

/** Function indices in the module. */
const FN = { mul: 0, sqr: 1, add: 2, sub: 3, double: 4, addJ: 5, addA: 6, scale: 7 } as const;

/** An operand: a parameter's address plus a byte offset, or an absolute address. */
type Ref = readonly [param: number | null, offset: number];

/** Emits point formulas as sequences of calls on field elements. */
class Formula {
  readonly body = new Body();
  private push(ref: Ref): void {
    const [param, offset] = ref;
    if (param === null) {
      this.body.i32(offset);
    } else {
      this.body.get(param);
      if (offset !== 0) this.body.i32(offset).op(OP.i32Add);
    }
  }
  mul(d: Ref, a: Ref, b: Ref): this {
    this.push(d);
    this.push(a);
    this.push(b);
    this.body.call(FN.mul);
    return this;
  }
  sqr(d: Ref, a: Ref): this {
    this.push(d);
    this.push(a);
    this.body.call(FN.sqr);
    return this;
  }
  add(d: Ref, a: Ref, b: Ref): this {
    this.push(d);
    this.push(a);
    this.push(b);
    this.body.call(FN.add);
    return this;
  }
  scale(d: Ref, a: Ref, k: number): this {
    this.push(d);
    this.push(a);
    this.body.i32(k);
    this.body.call(FN.scale);
    return this;
  }
  sub(d: Ref, a: Ref, b: Ref): this {
    this.push(d);
    this.push(a);
    this.push(b);
    this.body.call(FN.sub);
    return this;
  }
}

/** dbl-2001-b (a = -3) or dbl-2007-bl (any a), in place on the point at param 0. */
function pointDouble(layout: JacobianLayout, aIsMinus3: boolean, temp: (i: number) => Ref) {
  const e = layout.element;
  const X: Ref = [0, 0];
  const Y: Ref = [0, e];
  const Z: Ref = [0, 2 * e];
  const [t0, t1, t2, t3, t4, t5, t6, t7] = [0, 1, 2, 3, 4, 5, 6, 7].map(temp) as Ref[] as [
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
  ];
  const f = new Formula();
  if (aIsMinus3) {
    f.sqr(t0, Z) // delta
      .sqr(t1, Y) // gamma
      .mul(t2, X, t1) // beta
      .sub(t3, X, t0)
      .add(t4, X, t0)
      .mul(t3, t3, t4)
      .scale(t5, t3, 3) // alpha
      .add(t4, Y, Z)
      .sqr(t4, t4)
      .sub(t4, t4, t1)
      .sub(Z, t4, t0)
      .scale(t6, t2, 4) // 4 beta
      .add(t7, t6, t6) // 8 beta
      .sqr(t4, t5)
      .sub(X, t4, t7)
      .sub(t6, t6, X)
      .mul(t6, t5, t6)
      .sqr(t1, t1)
      .scale(t1, t1, 8) // 8 gamma^2
      .sub(Y, t6, t1);
  } else {
    const A: Ref = [null, layout.a];
    f.sqr(t0, X) // XX
      .sqr(t1, Y) // YY
      .sqr(t2, t1) // YYYY
      .sqr(t3, Z) // ZZ
      .add(t4, X, t1)
      .sqr(t4, t4)
      .sub(t4, t4, t0)
      .sub(t4, t4, t2)
      .add(t4, t4, t4) // S
      .sqr(t5, t3)
      .mul(t5, t5, A)
      .scale(t6, t0, 3)
      .add(t5, t5, t6) // M
      .add(t6, Y, Z)
      .sqr(t6, t6)
      .sub(t6, t6, t1)
      .sub(Z, t6, t3)
      .sqr(t6, t5)
      .add(t7, t4, t4)
      .sub(X, t6, t7)
      .sub(t6, t4, X)
      .mul(t6, t5, t6)
      .scale(t2, t2, 8)
      .sub(Y, t6, t2);
  }
  return { params: 1, results: 0, i64Locals: 0, body: f.body } satisfies FieldFunction;
}

/** add-2007-bl: P (param 0) += Q (param 1), both Jacobian.  */
function pointAdd(layout: JacobianLayout, temp: (i: number) => Ref): FieldFunction {
  const e = layout.element;
  const [X1, Y1, Z1]: Ref[] = [
    [0, 0],
    [0, e],
    [0, 2 * e],
  ];
  const [X2, Y2, Z2]: Ref[] = [
    [1, 0],
    [1, e],
    [1, 2 * e],
  ];
  const t = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(temp) as [
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
  ];
  const [z1z1, z2z2, u1, h, s1, r, i, j, t8, t9] = t;
  const f = new Formula();
  f.sqr(z1z1, Z1 as Ref)
    .sqr(z2z2, Z2 as Ref)
    .mul(u1, X1 as Ref, z2z2)
    .mul(h, X2 as Ref, z1z1) // U2
    .mul(s1, Y1 as Ref, Z2 as Ref)
    .mul(s1, s1, z2z2)
    .mul(r, Y2 as Ref, Z1 as Ref)
    .mul(r, r, z1z1) // S2
    .sub(h, h, u1)
    .add(i, h, h)
    .sqr(i, i)
    .mul(j, h, i)
    .sub(r, r, s1)
    .add(r, r, r)
    .mul(u1, u1, i) // V
    .add(t8, Z1 as Ref, Z2 as Ref)
    .sqr(t8, t8)
    .sub(t8, t8, z1z1)
    .sub(t8, t8, z2z2)
    .mul(Z1 as Ref, t8, h)
    .sqr(t8, r)
    .sub(t8, t8, j)
    .add(t9, u1, u1)
    .sub(X1 as Ref, t8, t9)
    .sub(t8, u1, X1 as Ref)
    .mul(t8, r, t8)
    .mul(t9, s1, j)
    .add(t9, t9, t9)
    .sub(Y1 as Ref, t8, t9);
  return { params: 2, results: 0, i64Locals: 0, body: f.body };
}

/** madd-2007-bl: P (param 0, Jacobian) += Q (param 1, affine x, y).  */
function pointAddAffine(layout: JacobianLayout, temp: (i: number) => Ref): FieldFunction {
  const e = layout.element;
  const X1: Ref = [0, 0];
  const Y1: Ref = [0, e];
  const Z1: Ref = [0, 2 * e];
  const X2: Ref = [1, 0];
  const Y2: Ref = [1, e];
  const [z1z1, h, r, hh, i, j, v, t7, t8] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map(temp) as [
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
    Ref,
  ];
  const f = new Formula();
  f.sqr(z1z1, Z1)
    .mul(h, X2, z1z1) // U2
    .mul(r, Y2, Z1)
    .mul(r, r, z1z1) // S2
    .sub(h, h, X1)
    .sqr(hh, h)
    .scale(i, hh, 4)
    .mul(j, h, i)
    .sub(r, r, Y1)
    .add(r, r, r)
    .mul(v, X1, i)
    .add(t7, Z1, h)
    .sqr(t7, t7)
    .sub(t7, t7, z1z1)
    .sub(Z1, t7, hh)
    .sqr(t7, r)
    .sub(t7, t7, j)
    .add(t8, v, v)
    .mul(j, Y1, j) // Y1 * J, before Y1 is overwritten
    .sub(X1, t7, t8)
    .sub(t7, v, X1)
    .mul(t7, r, t7)
    .add(j, j, j)
    .sub(Y1, t7, j);
  return { params: 2, results: 0, i64Locals: 0, body: f.body };
}

/** Builds and instantiates the module for p = 2^n - c (small c) and curve constant a. */
export function jacobianModule(p: bigint, a: bigint): JacobianModule {
  const n = p.toString(2).length;
  const c = (1n << BigInt(n)) - p;
  if (c >= 1n << 12n) throw new RangeError('prime is not of the form 2^n - c with a small c');
  // The limb size with the least excess N - n keeps the fold constant small.
  let best: Limbs | null = null;
  for (const bits of [26, 27, 28]) {
    const count = Math.ceil(n / bits);
    const fold = c << BigInt(count * bits - n);
    if (!best || fold < best.fold) best = { count, bits, mask: (1n << BigInt(bits)) - 1n, fold };
  }
  const limbs = best as Limbs;
  const element = 4 * limbs.count;
  // Memory: product scratch (2 elements), 10 temporaries, a, zero, accumulator, then tables.
  const layout: JacobianLayout = {
    limbs: limbs.count,
    limbBits: limbs.bits,
    element,
    a: 12 * element,
    zero: 13 * element,
    acc: 14 * element,
    tables: 17 * element,
  };
  const temp = (i: number): Ref => [null, (2 + i) * element];
  const functions: FieldFunction[] = [
    fieldMul(limbs, 0, false),
    fieldMul(limbs, 0, true),
    fieldAdd(limbs),
    fieldSub(limbs),
    pointDouble(layout, a === p - 3n, temp),
    pointAdd(layout, temp),
    pointAddAffine(layout, temp),
    fieldScale(limbs),
  ];
  const exported = {
    mulMod: FN.mul,
    sqrMod: FN.sqr,
    addMod: FN.add,
    subMod: FN.sub,
    scaleMod: FN.scale,
    double: FN.double,
    add: FN.addJ,
    addAffine: FN.addA,
  };
  const ex = instantiate(functions, exported, 1) as Omit<JacobianModule, 'layout'>;
  const module: JacobianModule = {
    layout,
    memory: ex.memory,
    double: ex.double,
    add: ex.add,
    addAffine: ex.addAffine,
    mulMod: ex.mulMod,
    sqrMod: ex.sqrMod,
    addMod: ex.addMod,
    subMod: ex.subMod,
    scaleMod: ex.scaleMod,
  };
  return module;
}
