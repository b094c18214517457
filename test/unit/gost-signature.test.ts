// GOST R 34.10 signatures: the worked examples of GOST R 34.10-2012 appendix A (256 and 512 bit),
// round trips on the production curves, tampering, and malformed inputs through the public API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PkiError } from '../../src/pki/errors.js';
import { gostCurve } from '../../src/pki/gost/curves.js';
import { publicKeyPoint, signDigest, verifyDigest } from '../../src/pki/gost/signature.js';
import {
  gostDigest,
  gostGenerateKey,
  gostHasher,
  gostPublicKey,
  gostSign,
  gostVerify,
  type GostAlgorithm,
} from '../../src/pki/gost/index.js';

const big = (hex: string): bigint => BigInt('0x' + hex);
const ALGORITHMS: GostAlgorithm[] = ['gost2015-512', 'gost2015-256', 'gost2004'];

test('GOST R 34.10-2012 appendix A.1 (256-bit example curve)', () => {
  const curve = gostCurve('test-256');
  const d = big('7a929ade789bb9be10ed359dd39a72c11b60961f49397eee1d19ce9891ec3b28');
  const e = big('2dfbc1b372d89a1188c09c52e0eec61fce52032ab1022e8e67ece6672b043ee5');
  const k = big('77105c9b20bcd3122823c8cf6fcc7b956de33814e95b7fe64fed924594dceab3');
  const q = publicKeyPoint(curve, d).toAffine();
  assert.equal(q.x, big('7f2b49e270db6d90d8595bec458b50c58585ba1d4e9b788f6689dbd8e56fd80b'));
  assert.equal(q.y, big('26f1b489d6701dd185c8413a977b3cbbaf64d1c593d26627dffb101a87ff77da'));
  const signature = signDigest(curve, d, e, k);
  assert.equal(
    signature.r,
    big('41aa28d2f1ab148280cd9ed56feda41974053554a42767b83ad043fd39dc0493'),
  );
  assert.equal(
    signature.s,
    big('01456c64ba4642a1653c235a98a60249bcd6d3f746b631df928014f6c5bf9c40'),
  );
  const point = publicKeyPoint(curve, d);
  assert.equal(verifyDigest(curve, point, e, signature), true);
  assert.equal(verifyDigest(curve, point, e + 1n, signature), false);
});

test('GOST R 34.10-2012 appendix A.2 (512-bit example curve)', () => {
  const curve = gostCurve('test-512');
  const d = big(
    '0ba6048aadae241ba40936d47756d7c93091a0e8514669700ee7508e508b1020' +
      '72e8123b2200a0563322dad2827e2714a2636b7bfd18aadfc62967821fa18dd4',
  );
  const e = big(
    '3754f3cfacc9e0615c4f4a7c4d8dab531b09b6f9c170c533a71d147035b0c591' +
      '7184ee536593f4414339976c647c5d5a407adedb1d560c4fc6777d2972075b8c',
  );
  const k = big(
    '0359e7f4b1410feacc570456c6801496946312120b39d019d455986e364f3658' +
      '86748ed7a44b3e794434006011842286212273a6d14cf70ea3af71bb1ae679f1',
  );
  const q = publicKeyPoint(curve, d).toAffine();
  assert.equal(
    q.x,
    big(
      '115dc5bc96760c7b48598d8ab9e740d4c4a85a65be33c1815b5c320c854621dd' +
        '5a515856d13314af69bc5b924c8b4ddff75c45415c1d9dd9dd33612cd530efe1',
    ),
  );
  assert.equal(
    q.y,
    big(
      '37c7c90cd40b0f5621dc3ac1b751cfa0e2634fa0503b3d52639f5d7fb72afd61' +
        'ea199441d943ffe7f0c70a2759a3cdb84c114e1f9339fdf27f35eca93677beec',
    ),
  );
  const signature = signDigest(curve, d, e, k);
  assert.equal(
    signature.r,
    big(
      '2f86fa60a081091a23dd795e1e3c689ee512a3c82ee0dcc2643c78eea8fcacd3' +
        '5492558486b20f1c9ec197c90699850260c93bcbcd9c5c3317e19344e173ae36',
    ),
  );
  assert.equal(
    signature.s,
    big(
      '1081b394696ffe8e6585e7a9362d26b6325f56778aadbc081c0bfbe933d52ff5' +
        '823ce288e8c4f362526080df7f70ce406a6eeb1f56919cb92a9853bde73e5b4a',
    ),
  );
  assert.equal(verifyDigest(curve, publicKeyPoint(curve, d), e, signature), true);
});

test('base points lie on their curves and have the published prime order', () => {
  for (const name of [
    'tc26-512-paramSetA',
    'tc26-256-paramSetA',
    'cryptopro-A',
    'test-256',
    'test-512',
  ] as const) {
    const curve = gostCurve(name);
    // A fresh copy of G, so the check does not build the base point's signing tables.
    const g = curve.Point.fromAffine(curve.Point.BASE.toAffine());
    g.assertValidity();
    // (q - 1) * G = -G exactly when G has order q.
    assert.ok(g.multiplyUnsafe(curve.q - 1n).equals(g.negate()), name);
  }
});

test('the API signs in the layout it verifies, with an injected k reproducible', () => {
  for (const algorithm of ALGORITHMS) {
    const { privateKey, publicKey } = gostGenerateKey(algorithm);
    assert.deepEqual(gostPublicKey(algorithm, privateKey), publicKey);
    const digest = gostDigest(algorithm, new TextEncoder().encode('procurement 2026'));
    const signature = gostSign(algorithm, privateKey, digest);
    assert.equal(gostVerify(algorithm, publicKey, digest, signature), true, algorithm);
    const fixed1 = gostSign(algorithm, privateKey, digest, 123456789n);
    const fixed2 = gostSign(algorithm, privateKey, digest, 123456789n);
    assert.deepEqual(fixed1, fixed2);
    assert.notDeepEqual(fixed1, signature);
    assert.equal(gostVerify(algorithm, publicKey, digest, fixed1), true);
    // A signature for one algorithm is not accepted as another's.
    for (const other of ALGORITHMS.filter((a) => a !== algorithm)) {
      assert.equal(gostVerify(other, publicKey, digest, signature), false);
    }
  }
});

test('tampered signatures, digests and keys are rejected', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALGORITHMS),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      fc.constantFrom('signature', 'digest', 'key'),
      (algorithm, position, flip, target) => {
        const { privateKey, publicKey } = gostGenerateKey(algorithm);
        const digest = gostDigest(algorithm, Uint8Array.of(position & 0xff));
        const signature = gostSign(algorithm, privateKey, digest);
        const bytes = { signature, digest, key: publicKey }[target].slice();
        const at = position % bytes.length;
        bytes[at] = (bytes[at] as number) ^ flip;
        const verified =
          target === 'signature'
            ? gostVerify(algorithm, publicKey, digest, bytes)
            : target === 'digest'
              ? gostVerify(algorithm, publicKey, bytes, signature)
              : gostVerify(algorithm, bytes, digest, signature);
        assert.equal(verified, false);
      },
    ),
    { numRuns: 24 },
  );
});

test('malformed inputs give false from verify and key.invalid from sign', () => {
  const algorithm = 'gost2015-512';
  const { privateKey, publicKey } = gostGenerateKey(algorithm);
  const digest = gostDigest(algorithm, Uint8Array.of(1));
  const signature = gostSign(algorithm, privateKey, digest);
  const q = gostCurve('tc26-512-paramSetA').q;
  assert.equal(gostVerify(algorithm, publicKey.subarray(1), digest, signature), false);
  assert.equal(gostVerify(algorithm, publicKey, digest.subarray(1), signature), false);
  assert.equal(gostVerify(algorithm, publicKey, digest, signature.subarray(1)), false);
  assert.equal(gostVerify(algorithm, new Uint8Array(128), digest, signature), false);
  assert.equal(gostVerify(algorithm, new Uint8Array(128).fill(0xff), digest, signature), false);
  assert.equal(gostVerify(algorithm, publicKey, digest, new Uint8Array(128)), false);
  assert.equal(gostVerify(algorithm, publicKey, digest, new Uint8Array(128).fill(0xff)), false);
  // r = q (little-endian) is out of range even though it fits in 64 bytes.
  const rIsQ = signature.slice();
  let v = q;
  for (let i = 0; i < 64; i++, v >>= 8n) rIsQ[i] = Number(v & 0xffn);
  assert.equal(gostVerify(algorithm, publicKey, digest, rIsQ), false);
  assert.equal(gostVerify('gost1989' as GostAlgorithm, publicKey, digest, signature), false);

  const isKeyInvalid = (error: unknown): boolean =>
    error instanceof PkiError && error.code === 'key.invalid';
  assert.throws(() => gostSign(algorithm, 0n, digest), isKeyInvalid);
  assert.throws(() => gostSign(algorithm, q, digest), isKeyInvalid);
  assert.throws(() => gostSign(algorithm, -5n, digest), isKeyInvalid);
  assert.throws(() => gostSign(algorithm, privateKey, digest, 0n), isKeyInvalid);
  assert.throws(() => gostPublicKey(algorithm, q + 1n), isKeyInvalid);
  assert.throws(
    () => gostSign(algorithm, privateKey, digest.subarray(2)),
    (error: unknown) => error instanceof PkiError && error.code === 'digest.invalid',
  );
});

/** Plain affine scalar multiplication, independent of the library, for building bad keys. */
function affineMultiply(
  k: bigint,
  point: { x: bigint; y: bigint },
  a: bigint,
  p: bigint,
): { x: bigint; y: bigint } | null {
  const m = (v: bigint): bigint => ((v % p) + p) % p;
  const inv = (v: bigint): bigint => {
    let [r0, r1, s0, s1] = [m(v), p, 1n, 0n];
    while (r1 !== 0n) {
      const t = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
    }
    return m(s0);
  };
  const add = (
    u: { x: bigint; y: bigint } | null,
    v: { x: bigint; y: bigint } | null,
  ): { x: bigint; y: bigint } | null => {
    if (!u) return v;
    if (!v) return u;
    if (u.x === v.x && m(u.y + v.y) === 0n) return null;
    const slope =
      u.x === v.x ? m((3n * u.x * u.x + a) * inv(2n * u.y)) : m((v.y - u.y) * inv(v.x - u.x));
    const x = m(slope * slope - u.x - v.x);
    return { x, y: m(slope * (u.x - x) - u.y) };
  };
  let result: { x: bigint; y: bigint } | null = null;
  for (const bit of k.toString(2)) {
    result = add(result, result);
    if (bit === '1') result = add(result, point);
  }
  return result;
}

test('points outside the prime-order subgroup of the cofactor-4 curve are refused as keys', () => {
  const curve = gostCurve('tc26-256-paramSetA');
  const { a, b } = curve.Point.CURVE();
  const digest = gostDigest('gost2015-256', Uint8Array.of(7));
  const { privateKey } = gostGenerateKey('gost2015-256');
  const signature = gostSign('gost2015-256', privateKey, digest);
  const encode = (pt: { x: bigint; y: bigint }): Uint8Array => {
    const key = new Uint8Array(64);
    for (let i = 0, vx = pt.x, vy = pt.y; i < 32; i++, vx >>= 8n, vy >>= 8n) {
      key[i] = Number(vx & 0xffn);
      key[32 + i] = Number(vy & 0xffn);
    }
    return key;
  };
  let refused = 0;
  for (let x = 1n; refused < 2; x++) {
    const rhs = (x ** 3n + a * x + b) % curve.p;
    let y: bigint;
    try {
      y = curve.Point.Fp.sqrt(rhs);
    } catch {
      continue;
    }
    // q * P is a point of order 2 or 4 exactly when P is outside the subgroup.
    const torsion = affineMultiply(curve.q, { x, y }, a, curve.p);
    if (!torsion) continue;
    assert.equal(gostVerify('gost2015-256', encode({ x, y }), digest, signature), false);
    assert.equal(gostVerify('gost2015-256', encode(torsion), digest, signature), false);
    refused++;
  }
});

test('gostHasher streams to the same digest as gostDigest', () => {
  const data = new Uint8Array(5000).map((_, i) => (i * 31) & 0xff);
  for (const algorithm of ALGORITHMS) {
    const hasher = gostHasher(algorithm);
    for (let i = 0; i < data.length; i += 333) hasher.update(data.subarray(i, i + 333));
    assert.deepEqual(hasher.digest(), gostDigest(algorithm, data), algorithm);
  }
});

test('fuzz gostVerify: random and mutated inputs only ever give a boolean', () => {
  const algorithm = 'gost2015-512';
  const { privateKey, publicKey } = gostGenerateKey(algorithm);
  const digest = gostDigest(algorithm, Uint8Array.of(42));
  const signature = gostSign(algorithm, privateKey, digest);
  let tried = 0;
  const mutate = (base: Uint8Array) =>
    fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .tuple(fc.nat(), fc.integer({ min: -3, max: 3 }), fc.nat(255))
        .map(([at, resize, value]) => {
          const copy = new Uint8Array(Math.max(0, base.length + resize));
          copy.set(base.subarray(0, copy.length));
          if (copy.length > 0) copy[at % copy.length] = value;
          return copy;
        }),
    );
  fc.assert(
    fc.property(
      fc.constantFrom<GostAlgorithm>(...ALGORITHMS),
      mutate(publicKey),
      mutate(digest),
      mutate(signature),
      (alg, key, dig, sig) => {
        tried++;
        const result = gostVerify(alg, key, dig, sig);
        assert.equal(typeof result, 'boolean');
      },
    ),
    { numRuns: 300 },
  );
  console.log(`fuzz gost verify: ${tried} inputs`);
});

test('a finished hasher refuses more input with digest.finished', () => {
  for (const algorithm of ALGORITHMS) {
    const hasher = gostHasher(algorithm);
    hasher.update(Uint8Array.of(1));
    hasher.digest();
    assert.throws(
      () => hasher.update(Uint8Array.of(2)),
      (error: unknown) => error instanceof PkiError && error.code === 'digest.finished',
    );
  }
});
