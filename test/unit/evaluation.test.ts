// Evaluation rules: the criteria table's discounts, the conditional price, and the ranking.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  MAX_DISCOUNT_BASIS_POINTS,
  conditionalPrice,
  discountBasisPoints,
  rank,
} from '../../src/domain/evaluation.js';

test('claims earn the table discounts, numbers up to their maximum, the total capped', () => {
  assert.equal(discountBasisPoints({}), 0);
  assert.equal(discountBasisPoints({ domestic_producer: true }), 2000);
  assert.equal(discountBasisPoints({ experience_years: 3 }), 300);
  assert.equal(discountBasisPoints({ experience_years: 40 }), 500);
  assert.equal(discountBasisPoints({ domestic_producer: 'yes', taxes_paid: false }), 0);
  const everything = {
    domestic_producer: true,
    experience_years: 5,
    taxes_paid: true,
    local_presence: true,
    audited_statements: true,
  };
  assert.equal(discountBasisPoints(everything), 2750);
  assert.equal(
    discountBasisPoints(everything, [
      { code: 'taxes_paid', titles: everything as never, basisPoints: 9000 },
    ]),
    MAX_DISCOUNT_BASIS_POINTS,
  );
});

test('the conditional price never exceeds the price and rounds half up to the tiyn', () => {
  assert.equal(conditionalPrice(100_00n, 2000), 80_00n);
  assert.equal(conditionalPrice(1n, 5000), 1n);
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), fc.nat({ max: 3000 }), (price, bp) => {
      const reduced = conditionalPrice(price, bp);
      assert.ok(reduced <= price && reduced >= 0n);
    }),
  );
});

test('lower conditional price first, then the earlier receipt', () => {
  const at = (minute: number) => new Date(Date.UTC(2026, 2, 2, 4, minute));
  const ranked = rank([
    { applicationId: 'c', price: 90n, conditionalPrice: 90n, receivedAt: at(1) },
    { applicationId: 'b', price: 100n, conditionalPrice: 80n, receivedAt: at(5) },
    { applicationId: 'a', price: 95n, conditionalPrice: 80n, receivedAt: at(2) },
  ]);
  assert.deepEqual(
    ranked.map((candidate) => candidate.applicationId),
    ['a', 'b', 'c'],
  );
});
