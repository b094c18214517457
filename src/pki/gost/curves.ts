// Elliptic curves of GOST R 34.10 in short Weierstrass form, with @noble/curves doing the point
// arithmetic over a field that reduces modulo p = 2^n - c by folding instead of dividing.

import { weierstrass, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { Field, type IField } from '@noble/curves/abstract/modular.js';

export type GostCurveName =
  'tc26-512-paramSetA' | 'tc26-256-paramSetA' | 'cryptopro-A' | 'test-256' | 'test-512';

export interface GostCurve {
  readonly name: GostCurveName;
  /** Coordinate and scalar length in bytes (32 or 64). */
  readonly size: number;
  readonly p: bigint;
  readonly q: bigint;
  readonly Point: WeierstrassPointCons<bigint>;
}

interface CurveParams {
  p: string;
  a: string;
  b: string;
  q: string;
  cofactor: bigint;
  x: string;
  y: string;
}

/** Parameters as published (hex, big-endian). */
const CURVE_PARAMS: Record<GostCurveName, CurveParams> = {
  // id-tc26-gost-3410-12-512-paramSetA, RFC 7836 appendix A.1 / 1.2.643.7.1.2.1.2.1.
  'tc26-512-paramSetA': {
    p:
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc7',
    a:
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffdc4',
    b:
      'e8c2505dedfc86ddc1bd0b2b6667f1da34b82574761cb0e879bd081cfd0b6265' +
      'ee3cb090f30d27614cb4574010da90dd862ef9d4ebee4761503190785a71c760',
    q:
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      '27e69532f48d89116ff22b8d4e0560609b4b38abfad2b85dcacdb1411f10b275',
    cofactor: 1n,
    x: '03',
    y:
      '7503cfe87a836ae3a61b8816e25450e6ce5e1c93acf1abc1778064fdcbefa921' +
      'df1626be4fd036e93d75e6a50e3a41e98028fe5fc235f5b889a589cb5215f2a4',
  },
  // id-tc26-gost-3410-2012-256-paramSetA, RFC 7836 appendix A.2: the Weierstrass form of the
  // twisted Edwards curve, cofactor 4.
  'tc26-256-paramSetA': {
    p: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd97',
    a: 'c2173f1513981673af4892c23035a27ce25e2013bf95aa33b22c656f277e7335',
    b: '295f9bae7428ed9ccc20e7c359a9d41a22fccd9108e17bf7ba9337a6f8ae9513',
    q: '400000000000000000000000000000000fd8cddfc87b6635c115af556c360c67',
    cofactor: 4n,
    x: '91e38443a5e82c0d880923425712b2bb658b9196932e02c78b2582fe742daa28',
    y: '32879423ab1a0375895786c4bb46e9565fde0b5344766740af268adb32322e5c',
  },
  // id-GostR3410-2001-CryptoPro-A-ParamSet, RFC 4357 section 11.4.
  'cryptopro-A': {
    p: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd97',
    a: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd94',
    b: 'a6',
    q: 'ffffffffffffffffffffffffffffffff6c611070995ad10045841b09b761b893',
    cofactor: 1n,
    x: '01',
    y: '8d91e471e0989cda27df505a453f2b7635294f2ddf23e3b122acc99c9e9f1e14',
  },
  // The worked example of GOST R 34.10-2012 appendix A.1 (also RFC 7091 / RFC 5832).
  'test-256': {
    p: '8000000000000000000000000000000000000000000000000000000000000431',
    a: '07',
    b: '5fbff498aa938ce739b8e022fbafef40563f6e6a3472fc2a514c0ce9dae23b7e',
    q: '8000000000000000000000000000000150fe8a1892976154c59cfc193accf5b3',
    cofactor: 1n,
    x: '02',
    y: '08e2a8a0e65147d4bd6316030e16d19c85c97f0a9ca267122b96abbcea7e8fc8',
  },
  // The worked example of GOST R 34.10-2012 appendix A.2 (512-bit).
  'test-512': {
    p:
      '4531acd1fe0023c7550d267b6b2fee80922b14b2ffb90f04d4eb7c09b5d2d15d' +
      'f1d852741af4704a0458047e80e4546d35b8336fac224dd81664bbf528be6373',
    a: '07',
    b:
      '1cff0806a31116da29d8cfa54e57eb748bc5f377e49400fdd788b649eca1ac43' +
      '61834013b2ad7322480a89ca58e0cf74bc9e540c2add6897fad0a3084f302adc',
    q:
      '4531acd1fe0023c7550d267b6b2fee80922b14b2ffb90f04d4eb7c09b5d2d15d' +
      'a82f2d7ecb1dbac719905c5eecc423f1d86e25edbe23c595d644aaf187e6e6df',
    cofactor: 1n,
    x:
      '24d19cc64572ee30f396bf6ebbfd7a6c5213b3b3d7057cc825f91093a68cd762' +
      'fd60611262cd838dc6b60aa7eee804e28bc849977fac33b4b530f1b120248a9a',
    y:
      '2bb312a43bd2ce6e0d020613c857acddcfbf061e91e5f2c3f32447c259f39b2c' +
      '83ab156d77f1496bf7eb3351e1ee4e43dc1a18b91b24640b6dbb92cb1add371e',
  },
};

/**
 * The prime field, with multiplication reduced by folding when p = 2^n - c for a small c
 * (all production GOST curves): x = hi * 2^n + lo is congruent to hi * c + lo.
 */
function primeField(p: bigint): IField<bigint> {
  const base = Field(p);
  const bits = BigInt(p.toString(2).length);
  const c = (1n << bits) - p;
  const add = (a: bigint, b: bigint): bigint => {
    const s = a + b;
    return s >= p ? s - p : s;
  };
  const sub = (a: bigint, b: bigint): bigint => {
    const d = a - b;
    return d < 0n ? d + p : d;
  };
  const neg = (a: bigint): bigint => (a === 0n ? 0n : p - a);
  if (c >= 1n << 16n) {
    return Object.create(base, {
      add: { value: add },
      sub: { value: sub },
      neg: { value: neg },
    }) as IField<bigint>;
  }
  const mask = (1n << bits) - 1n;
  const reduce = (x: bigint): bigint => {
    let r = (x >> bits) * c + (x & mask);
    r = (r >> bits) * c + (r & mask);
    return r >= p ? r - p : r;
  };
  return Object.create(base, {
    add: { value: add },
    sub: { value: sub },
    neg: { value: neg },
    mul: { value: (a: bigint, b: bigint): bigint => reduce(a * b) },
    sqr: { value: (a: bigint): bigint => reduce(a * a) },
  }) as IField<bigint>;
}

const h = (hex: string): bigint => BigInt('0x' + hex);

function buildCurve(name: GostCurveName): GostCurve {
  const params = CURVE_PARAMS[name];
  const p = h(params.p);
  const q = h(params.q);
  const Point = weierstrass(
    {
      p,
      n: q,
      h: params.cofactor,
      a: h(params.a),
      b: h(params.b),
      Gx: h(params.x),
      Gy: h(params.y),
    },
    { Fp: primeField(p) },
  );
  // Window tables make k*G for signing cheap; they are built on the first signature. The
  // example curves of the standard only sign test vectors, so they get small tables.
  Point.BASE.precompute(name.startsWith('test-') ? 4 : 6);
  return { name, size: params.p.length / 2, p, q, Point };
}

const built = new Map<GostCurveName, GostCurve>();

/** The curve, built and its base-point tables computed on first use. */
export function gostCurve(name: GostCurveName): GostCurve {
  let curve = built.get(name);
  if (!curve) {
    curve = buildCurve(name);
    built.set(name, curve);
  }
  return curve;
}
