// Money as integer tiyn: parsing and formatting, half-up percentages, lossless allocation, VAT by
// date of turnover (12% to 2025-12-31, 16% from 2026-01-01) and MRP by year.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  allocate,
  divideRoundHalfUp,
  formatAmount,
  grossOf,
  maxAmount,
  minAmount,
  mrp,
  mrpAmount,
  multiplyAmount,
  parseAmount,
  percentOf,
  sumAmounts,
  tenge,
  vatOf,
  vatRateOn,
} from '../../src/domain/money.js';

function refusal(code: string, status: number) {
  return (error: unknown) => {
    assert.ok(error instanceof UppError, `expected UppError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  };
}

const amounts = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n });
/** parseAmount reads at most 18 digits of tenge. */
const inputAmounts = fc.bigInt({ min: -(10n ** 20n) + 1n, max: 10n ** 20n - 1n });

test('amounts in tenge are read into tiyn', () => {
  assert.equal(parseAmount('1234.56'), 123456n);
  assert.equal(parseAmount('7'), 700n);
  assert.equal(parseAmount('0.5'), 50n);
  assert.equal(parseAmount('0.05'), 5n);
  assert.equal(parseAmount('0'), 0n);
  assert.equal(parseAmount('007.10'), 710n);
  assert.equal(parseAmount('999999999999999999.99'), 99999999999999999999n);
  assert.equal(parseAmount('-1.5', { signed: true }), -150n);
});

test('anything but digits with at most two decimals is refused', () => {
  const bad = [
    '',
    '1.234',
    '1e3',
    '1E3',
    'NaN',
    'Infinity',
    '-Infinity',
    ' 1',
    '1 ',
    '1,50',
    '1 000',
    '+1',
    '.5',
    '1.',
    '0x10',
    '١٢',
    '1234567890123456789',
    '9'.repeat(100),
    '-1',
  ];
  for (const input of bad) {
    assert.throws(() => parseAmount(input), refusal('money.invalid_amount', 422), input);
  }
  assert.throws(() => parseAmount('--1', { signed: true }), refusal('money.invalid_amount', 422));
});

test('tiyn are written as tenge with two decimals', () => {
  assert.equal(formatAmount(123456n), '1234.56');
  assert.equal(formatAmount(5n), '0.05');
  assert.equal(formatAmount(700n), '7.00');
  assert.equal(formatAmount(-150n), '-1.50');
  assert.equal(formatAmount(0n), '0.00');
});

test('display form groups thousands with a chosen space and decimal mark', () => {
  const thin = '\u202f';
  const noBreak = '\u00a0';
  assert.equal(formatAmount(123456789n, { groupSeparator: thin }), `1${thin}234${thin}567.89`);
  assert.equal(
    formatAmount(-100000000n, { groupSeparator: noBreak, decimalSeparator: ',' }),
    `-1${noBreak}000${noBreak}000,00`,
  );
  assert.equal(formatAmount(99999n, { groupSeparator: thin }), '999.99');
});

test('format then parse gives back the same tiyn', () => {
  fc.assert(
    fc.property(inputAmounts, (amount) => {
      assert.equal(parseAmount(formatAmount(amount), { signed: true }), amount);
    }),
    { numRuns: 2000 },
  );
});

test('parse then format gives the canonical form of the text', () => {
  const texts = fc
    .tuple(fc.stringMatching(/^[1-9]\d{0,15}$|^0$/), fc.stringMatching(/^$|^\d{1,2}$/))
    .map(([whole, fraction]) => (fraction === '' ? whole : `${whole}.${fraction}`));
  fc.assert(
    fc.property(texts, (text) => {
      const [whole, fraction = ''] = text.split('.');
      assert.equal(formatAmount(parseAmount(text)), `${whole}.${fraction.padEnd(2, '0')}`);
    }),
    { numRuns: 2000 },
  );
});

test('fuzz: parsing any text either gives tiyn or refuses with money.invalid_amount', () => {
  let tried = 0;
  fc.assert(
    fc.property(fc.string({ maxLength: 50 }), (text) => {
      tried += 1;
      try {
        const amount = parseAmount(text);
        assert.equal(typeof amount, 'bigint');
        assert.equal(formatAmount(amount).replace(/^0+(?=\d)/, ''), formatAmount(amount));
      } catch (error) {
        assert.ok(refusal('money.invalid_amount', 422)(error));
      }
    }),
    { numRuns: 3000 },
  );
  console.log(`fuzz money: ${tried} inputs`);
});

test('arithmetic helpers stay in tiyn', () => {
  assert.equal(tenge(5), 500n);
  assert.equal(tenge(5n), 500n);
  assert.equal(sumAmounts([1n, 2n, 3n]), 6n);
  assert.equal(sumAmounts([]), 0n);
  assert.equal(multiplyAmount(150n, 3), 450n);
  assert.equal(minAmount(5n, 3n, 9n), 3n);
  assert.equal(maxAmount(5n, 3n, 9n), 9n);
  assert.throws(() => tenge(1.5), refusal('money.not_integer', 500));
  assert.throws(() => multiplyAmount(1n, Number.NaN), refusal('money.not_integer', 500));
});

test('half-up rounding: exact halves go away from zero', () => {
  assert.equal(divideRoundHalfUp(5n, 2n), 3n);
  assert.equal(divideRoundHalfUp(-5n, 2n), -3n);
  assert.equal(divideRoundHalfUp(5n, -2n), -3n);
  assert.equal(divideRoundHalfUp(7n, 3n), 2n);
  assert.equal(divideRoundHalfUp(8n, 3n), 3n);
  assert.equal(divideRoundHalfUp(-8n, 3n), -3n);
  assert.throws(() => divideRoundHalfUp(1n, 0n), refusal('money.division_by_zero', 500));
});

test('half-up rounding is within half a unit of the exact quotient, ties away from zero', () => {
  const divisors = fc.bigInt({ min: -(10n ** 6n), max: 10n ** 6n }).filter((d) => d !== 0n);
  fc.assert(
    fc.property(amounts, divisors, (n, d) => {
      const q = divideRoundHalfUp(n, d);
      const error = 2n * (q * d - n);
      const bound = d < 0n ? -d : d;
      assert.ok(error <= bound && error >= -bound, `${n}/${d} -> ${q}`);
      if (error === bound || error === -bound) {
        const magnitude = (q < 0n ? -q : q) * bound;
        assert.ok(magnitude > (n < 0n ? -n : n), 'a tie is rounded away from zero');
      }
      assert.equal(divideRoundHalfUp(-n, d), -q);
    }),
    { numRuns: 2000 },
  );
});

test('a percentage in basis points is rounded half-up to the tiyn', () => {
  assert.equal(percentOf(1_000_000n, 100), 10_000n, '1% of 10,000.00 tenge');
  assert.equal(percentOf(50n, 100), 1n, '1% of 50 tiyn is 0.5 tiyn: up');
  assert.equal(percentOf(49n, 100), 0n);
  assert.equal(percentOf(-50n, 100), -1n);
  assert.equal(percentOf(12345n, 300), 370n, '3% of 123.45 is 3.7035');
  assert.equal(percentOf(123_456_789n, 50), 617_284n, '0.5% of 1,234,567.89 is 6,172.839');
});

test('allocation loses no tiyn and each part is within one tiyn of its exact share', () => {
  const weights = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 12 });
  fc.assert(
    fc.property(
      amounts,
      weights.filter((list) => list.some((weight) => weight > 0)),
      (amount, list) => {
        const parts = allocate(amount, list);
        assert.equal(parts.length, list.length);
        assert.equal(sumAmounts(parts), amount);
        const total = BigInt(list.reduce((sum, weight) => sum + weight, 0));
        list.forEach((weight, index) => {
          const scaled = (parts[index] ?? 0n) * total - amount * BigInt(weight);
          assert.ok(scaled < total && scaled > -total, `part ${index}`);
          if (weight === 0) assert.equal(parts[index], 0n);
        });
      },
    ),
    { numRuns: 1000 },
  );
});

test('allocation examples and refusals', () => {
  assert.deepEqual(allocate(100n, [1, 1, 1]), [34n, 33n, 33n]);
  assert.deepEqual(allocate(-100n, [1, 1, 1]), [-34n, -33n, -33n]);
  assert.deepEqual(allocate(5n, [1, 3]), [1n, 4n]);
  assert.deepEqual(allocate(0n, [2, 5]), [0n, 0n]);
  for (const weights of [[], [0, 0], [1, -1], [1.5]]) {
    assert.throws(
      () => allocate(100n, weights),
      (error: unknown) => error instanceof UppError,
    );
  }
});

test('VAT rate follows the date of turnover: 12% to 2025-12-31, 16% from 2026-01-01', () => {
  assert.equal(vatRateOn('2024-06-01'), 1200);
  assert.equal(vatRateOn('2025-12-31'), 1200);
  assert.equal(vatRateOn('2026-01-01'), 1600);
  assert.equal(vatRateOn('2027-07-15'), 1600);
  assert.throws(() => vatRateOn('1990-01-01'), refusal('vat.rate_unknown', 500));
  assert.throws(() => vatRateOn('2026-02-30'), refusal('date.invalid', 422));
});

test('VAT and gross come with the rate used, for storing on the line', () => {
  assert.deepEqual(vatOf(1_000_000n, '2025-12-31'), { rateBasisPoints: 1200, vat: 120_000n });
  assert.deepEqual(grossOf(1_000_000n, '2026-01-01'), {
    net: 1_000_000n,
    rateBasisPoints: 1600,
    vat: 160_000n,
    gross: 1_160_000n,
  });
  assert.equal(vatOf(5n, '2025-06-01').vat, 1n, '0.6 tiyn rounds up');
  assert.equal(vatOf(4n, '2025-06-01').vat, 0n, '0.48 tiyn rounds down');
  assert.equal(vatOf(25n, '2026-06-01').vat, 4n, '4.0 tiyn');
  assert.equal(vatOf(3n, '2026-06-01').vat, 0n, '0.48 tiyn rounds down');
});

test('a custom VAT table is honoured', () => {
  const table = [
    { from: '2026-01-01', basisPoints: 1600 },
    { from: '2030-01-01', basisPoints: 2000 },
  ];
  assert.equal(vatRateOn('2030-01-01', table), 2000);
  assert.equal(vatRateOn('2029-12-31', table), 1600);
  assert.throws(() => vatRateOn('2025-12-31', table), refusal('vat.rate_unknown', 500));
});

test('MRP by year, in tiyn; unknown years are refused', () => {
  assert.equal(mrp(2024), 3692n * 100n);
  assert.equal(mrp(2025), 3932n * 100n);
  assert.equal(mrp(2026), 4325n * 100n);
  assert.equal(mrpAmount(8000, 2026), 8000n * 4325n * 100n);
  assert.equal(mrpAmount(40n, 2025), 40n * 3932n * 100n);
  assert.throws(() => mrp(2023), refusal('mrp.year_unknown', 500));
  assert.throws(() => mrp(2026.5), refusal('mrp.year_unknown', 500));
  assert.throws(() => mrpAmount(0.5, 2026), refusal('money.not_integer', 500));
  assert.equal(mrp(2030, { 2030: 5000n }), 500_000n);
});

test('no floating point in the money code', () => {
  const source = readFileSync(new URL('../../src/domain/money.ts', import.meta.url), 'utf8');
  for (const banned of [/parseFloat/, /\bNumber\(/, /Math\.round/, /toFixed/, /\/ 100\b(?!n)/]) {
    assert.doesNotMatch(source, banned);
  }
});
