// The WebAssembly field and point code behind fast verification, checked against BigInt
// arithmetic and against @noble/curves on the three production GOST curves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { gostCurve, type GostCurveName } from '../../src/pki/gost/curves.js';
import { fastVerifier, wnaf } from '../../src/pki/gost/fast-verify.js';
import { jacobianModule } from '../../src/pki/gost/jacobian-wasm.js';
import { genericCombinationX, randomScalar } from '../../src/pki/gost/signature.js';

const CURVES: GostCurveName[] = ['tc26-512-paramSetA', 'tc26-256-paramSetA', 'cryptopro-A'];

test('wNAF digits are odd, bounded, spaced and sum back to the scalar', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: (1n << 512n) - 1n }), fc.constantFrom(5, 8), (k, w) => {
      const digits = wnaf(k, w);
      let sum = 0n;
      let lastNonZero = -Infinity;
      for (let i = digits.length - 1; i >= 0; i--) sum = 2n * sum + BigInt(digits[i] as number);
      assert.equal(sum, k);
      digits.forEach((d, i) => {
        if (d === 0) return;
        assert.equal(Math.abs(d) % 2, 1);
        assert.ok(Math.abs(d) < 1 << (w - 1));
        assert.ok(i - lastNonZero >= w);
        lastNonZero = i;
      });
    }),
    { numRuns: 200 },
  );
});

for (const name of CURVES) {
  test(`field routines of the ${name} module agree with BigInt on lazy inputs`, () => {
    const curve = gostCurve(name);
    const p = curve.p;
    const m = jacobianModule(p, curve.Point.CURVE().a);
    const { limbs, limbBits, element } = m.layout;
    const words = new Uint32Array(m.memory.buffer);
    const top = 1n << BigInt(limbs * limbBits);
    const write = (offset: number, value: bigint): void => {
      let v = value;
      for (let i = 0; i < limbs; i++, v >>= BigInt(limbBits)) {
        words[offset / 4 + i] = Number(v & ((1n << BigInt(limbBits)) - 1n));
      }
    };
    const read = (offset: number): bigint => {
      let v = 0n;
      for (let i = limbs - 1; i >= 0; i--) {
        const limb = words[offset / 4 + i] as number;
        assert.ok(limb < 2 ** limbBits, 'limb stays below 2^w');
        v = (v << BigInt(limbBits)) | BigInt(limb);
      }
      return v;
    };
    // Temporaries of the module live from 2 elements on; use free space past the accumulator.
    const [A, B, D] = [m.layout.tables, m.layout.tables + element, m.layout.tables + 2 * element];
    const mod = (v: bigint): bigint => ((v % p) + p) % p;
    const edges = [0n, 1n, 2n, p - 1n, p, p + 1n, top - 1n, top - p, (top - 1n) / 2n];
    const value = fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: 0n, max: top - 1n }));
    fc.assert(
      fc.property(value, value, (a, b) => {
        write(A, a);
        write(B, b);
        m.mulMod(D, A, B);
        assert.equal(mod(read(D)), mod(a * b));
        m.sqrMod(D, A);
        assert.equal(mod(read(D)), mod(a * a));
        m.addMod(D, A, B);
        assert.equal(mod(read(D)), mod(a + b));
        m.subMod(D, A, B);
        assert.equal(mod(read(D)), mod(a - b));
        for (const k of [0, 3, 4, 8, 65535]) {
          m.scaleMod(D, A, k);
          assert.equal(mod(read(D)), mod(a * BigInt(k)));
        }
        // Results may be used in place as inputs.
        m.mulMod(A, A, A);
        assert.equal(mod(read(A)), mod(a * a));
      }),
      { numRuns: 300 },
    );
  });

  test(`u1*G + u2*Q on ${name} matches the library`, () => {
    const curve = gostCurve(name);
    const fast = fastVerifier(curve);
    assert.ok(fast);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
        const d = randomScalar(curve.q);
        const q = curve.Point.BASE.multiply(d);
        const u1 = seed % 3 === 0 ? BigInt(seed) : randomScalar(curve.q);
        const u2 = randomScalar(curve.q);
        const x = curve.Point.BASE.multiplyUnsafe(u1).add(q.multiplyUnsafe(u2)).toAffine().x;
        assert.equal(fast.combinationHasX(q, u1, u2, [x]), true);
        assert.equal(fast.combinationHasX(q, u1, u2, [x + 1n, x === 0n ? 1n : x - 1n]), false);
      }),
      { numRuns: 8 },
    );
  });

  test(`a zero sum on ${name} is handed back to the generic code`, () => {
    const curve = gostCurve(name);
    const fast = fastVerifier(curve);
    assert.ok(fast);
    const d = randomScalar(curve.q);
    const q = curve.Point.BASE.multiply(d);
    const u2 = randomScalar(curve.q);
    // u1 = -u2 * d makes u1*G + u2*Q the point at infinity.
    const u1 = (((-u2 * d) % curve.q) + curve.q) % curve.q;
    assert.equal(fast.combinationHasX(q, u1, u2, [0n, 1n]), 'fallback');
    assert.equal(genericCombinationX(curve, q, u1, u2), null);
  });
}
