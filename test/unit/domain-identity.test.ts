// IIN and BIN: the check digit, decoding of the digits, and the NCA RK test numbers that fail.
// Expected check digits below were worked out by hand from the two weightings, not by this code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  NCA_TEST_NUMBERS,
  checkDigit,
  isValidBin,
  isValidIin,
  parseBin,
  parseIin,
} from '../../src/domain/identity.js';

const FIRST_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_WEIGHTS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

function weighted(digits: string, weights: number[]): number {
  return weights.reduce((sum, weight, index) => sum + weight * Number(digits[index]), 0) % 11;
}

function refusal(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof UppError, `expected UppError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, 422);
    return true;
  };
}

const elevenDigits = fc.stringMatching(/^\d{11}$/);

test('check digit agrees with the two weightings of the rule', () => {
  fc.assert(
    fc.property(elevenDigits, (first11) => {
      const digit = checkDigit(first11);
      const first = weighted(first11, FIRST_WEIGHTS);
      const second = weighted(first11, SECOND_WEIGHTS);
      if (first !== 10) assert.equal(digit, first);
      else if (second !== 10) assert.equal(digit, second);
      else assert.equal(digit, null);
    }),
    { numRuns: 2000 },
  );
});

test('check digit of worked examples, including the second weighting and no valid digit', () => {
  assert.equal(checkDigit('00022950123'), 4);
  assert.equal(checkDigit('99074000224'), 3);
  assert.equal(checkDigit('10000000020'), 5);
  assert.equal(checkDigit('10000000023'), 0);
  assert.equal(checkDigit('10000000028'), null);
});

test('check digit refuses anything but 11 digits', () => {
  for (const bad of ['', '1234567890', '123456789012', '1234567890a', '１２３４５６７８９０１']) {
    assert.throws(() => checkDigit(bad), refusal('identity.invalid_format'));
  }
});

test('a number completed with its check digit passes; no other 12th digit does', () => {
  fc.assert(
    fc.property(elevenDigits, (first11) => {
      const digit = checkDigit(first11);
      for (let candidate = 0; candidate <= 9; candidate += 1) {
        const number = `${first11}${candidate}`;
        const error = codeOf(() => parseBin(number)) ?? codeOf(() => parseIin(number));
        const checkFailed = error === 'bin.invalid_check_digit';
        assert.equal(checkFailed, candidate !== digit, number);
      }
    }),
    { numRuns: 500 },
  );
});

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof UppError);
    return error.code;
  }
}

test('one changed digit invalidates a valid number unless the check happens to match', () => {
  const valid = elevenDigits
    .filter((first11) => checkDigit(first11) !== null)
    .map((first11) => `${first11}${checkDigit(first11)}`);
  const change = fc.record({
    number: valid,
    position: fc.integer({ min: 0, max: 11 }),
    shift: fc.integer({ min: 1, max: 9 }),
  });
  fc.assert(
    fc.property(change, ({ number, position, shift }) => {
      const digit = (Number(number[position]) + shift) % 10;
      const changed = `${number.slice(0, position)}${digit}${number.slice(position + 1)}`;
      const stillValid = codeOf(() => parseBin(changed)) !== 'bin.invalid_check_digit';
      const sameCheck = position < 11 && checkDigit(changed.slice(0, 11)) === Number(number[11]);
      assert.equal(stillValid, sameCheck, `${number} -> ${changed}`);
      const firstWeighting = checkDigit(number.slice(0, 11)) === weighted(number, FIRST_WEIGHTS);
      if (position < 10 && firstWeighting && weighted(changed, FIRST_WEIGHTS) !== 10) {
        assert.equal(stillValid, false, 'weights 1..10 are distinct and non-zero mod 11');
      }
    }),
    { numRuns: 1000 },
  );
});

test('IIN decodes birth date, century and sex', () => {
  assert.deepEqual(parseIin('000229501234'), {
    iin: '000229501234',
    birthDate: '2000-02-29',
    sex: 'male',
    century: 2000,
  });
  assert.deepEqual(parseIin('960229405676'), {
    iin: '960229405676',
    birthDate: '1996-02-29',
    sex: 'female',
    century: 1900,
  });
  assert.equal(parseIin('850317300010').birthDate, '1985-03-17');
  assert.equal(parseIin('881231100018').birthDate, '1888-12-31');
  assert.equal(parseIin('881231100018').century, 1800);
  assert.equal(parseIin('120715600020').sex, 'female');
  assert.equal(parseIin('120715600020').birthDate, '2012-07-15');
  assert.equal(parseIin('900101300811').birthDate, '1990-01-01');
});

function iinWith(first11: string): string {
  const digit = checkDigit(first11);
  assert.notEqual(digit, null, `${first11} has no check digit; pick other serial digits`);
  return `${first11}${digit}`;
}

test('IIN century digits: odd male, even female; 1-2 1800s, 3-4 1900s, 5-6 2000s', () => {
  const expected = [
    ['1', 1800, 'male'],
    ['2', 1800, 'female'],
    ['3', 1900, 'male'],
    ['4', 1900, 'female'],
    ['5', 2000, 'male'],
    ['6', 2000, 'female'],
  ] as const;
  for (const [digit, century, sex] of expected) {
    const serials = ['0001', '0002', '0003'].map((serial) => `750615${digit}${serial}`);
    const first11 = serials.find((serial) => checkDigit(serial) !== null) ?? '';
    const iin = parseIin(iinWith(first11));
    assert.equal(iin.century, century);
    assert.equal(iin.sex, sex);
    assert.equal(iin.birthDate, `${century + 75}-06-15`);
  }
});

test('IIN date edge cases: leap days by century, month and day bounds', () => {
  assert.throws(() => parseIin('000229300124'), refusal('iin.invalid_date'));
  for (const date of ['010229', '001301', '000001', '000100', '000431', '990230']) {
    const first11 = [`${date}50001`, `${date}50002`].find((s) => checkDigit(s) !== null) ?? '';
    assert.throws(() => parseIin(iinWith(first11)), refusal('iin.invalid_date'), date);
  }
  for (const date of ['040229', '000131', '991231']) {
    const first11 = [`${date}50001`, `${date}50002`].find((s) => checkDigit(s) !== null) ?? '';
    assert.doesNotThrow(() => parseIin(iinWith(first11)), date);
  }
});

test('IIN with a century digit outside 1-6 is refused', () => {
  for (const digit of ['0', '7', '8', '9']) {
    const first11 = ['0001', '0002']
      .map((s) => `900101${digit}${s}`)
      .find((s) => checkDigit(s) !== null);
    assert.throws(() => parseIin(iinWith(first11 ?? '')), refusal('iin.invalid_format'));
  }
});

test('IIN and BIN format refusals', () => {
  for (const bad of ['', '12345678901', '1234567890123', '12345678901a', ' 123456789012', '-0']) {
    assert.throws(() => parseIin(bad), refusal('iin.invalid_format'));
    assert.throws(() => parseBin(bad), refusal('bin.invalid_format'));
    assert.equal(isValidIin(bad), false);
    assert.equal(isValidBin(bad), false);
  }
});

test('NCA RK test numbers fail the check digit (callers decide on test certificates)', () => {
  for (const iin of ['123456789011', '123456789012', '940229400158']) {
    assert.throws(() => parseIin(iin), refusal('iin.invalid_check_digit'), iin);
    assert.equal(isValidIin(iin), false);
  }
  assert.throws(() => parseBin('123456789021'), refusal('bin.invalid_check_digit'));
  assert.equal(isValidBin('123456789021'), false);
  for (const number of NCA_TEST_NUMBERS) {
    assert.equal(isValidIin(number) || isValidBin(number), false, number);
  }
  assert.equal(NCA_TEST_NUMBERS.length, 4);
});

test('BIN decodes registration month, kind and unit', () => {
  assert.deepEqual(parseBin('990740002243'), {
    bin: '990740002243',
    registeredYearMonth: '1999-07',
    kind: 'resident_legal_entity',
    unit: 'head',
  });
  assert.deepEqual(parseBin('081140000436'), {
    bin: '081140000436',
    registeredYearMonth: '2008-11',
    kind: 'resident_legal_entity',
    unit: 'head',
  });
  assert.equal(parseBin('191250000010').kind, 'non_resident');
  assert.equal(parseBin('191250000010').registeredYearMonth, '2019-12');
  assert.equal(parseBin('230143000105').unit, 'peasant_farm');
  assert.equal(parseBin('050661000123').kind, 'individual_entrepreneur_joint');
  assert.equal(parseBin('050661000123').unit, 'branch');
  assert.equal(isValidBin('081140000436'), true);
});

test('BIN units and kinds come from digits 5 and 6; other digits are refused', () => {
  const units = { '0': 'head', '1': 'branch', '2': 'representative_office', '3': 'peasant_farm' };
  for (const [digit, unit] of Object.entries(units)) {
    const first11 = ['001', '002', '003'].map((s) => `21034${digit}00${s}`);
    const bin = iinWith(first11.find((s) => checkDigit(s) !== null) ?? '');
    assert.equal(parseBin(bin).unit, unit);
  }
  for (const first6 of ['210374', '210344', '210044', '211340', '210304']) {
    const first11 = ['00001', '00002', '00003'].map((s) => `${first6}${s}`);
    const bin = iinWith(first11.find((s) => checkDigit(s) !== null) ?? '');
    assert.throws(() => parseBin(bin), refusal('bin.invalid_format'), bin);
  }
});

test('fuzz: parsers only ever refuse with their own codes', () => {
  const codes = new Set([
    'iin.invalid_format',
    'iin.invalid_check_digit',
    'iin.invalid_date',
    'bin.invalid_format',
    'bin.invalid_check_digit',
  ]);
  const input = fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^\d{12}$/));
  let tried = 0;
  fc.assert(
    fc.property(input, (value) => {
      tried += 1;
      for (const parse of [parseIin, parseBin]) {
        const code = codeOf(() => parse(value));
        if (code !== undefined) assert.ok(codes.has(code), code);
      }
    }),
    { numRuns: 3000 },
  );
  console.log(`fuzz identity: ${tried} inputs`);
});
