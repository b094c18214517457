import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from '../../src/domain/canonical-json.js';

test('object members sort by UTF-16 code units, as RFC 8785 section 3.2.3 shows', () => {
  const input = {
    '\u20ac': 'Euro Sign',
    '\r': 'Carriage Return',
    '\ufb33': 'Hebrew Letter Dalet With Dagesh',
    '1': 'One',
    '\ud83d\ude00': 'Emoji: Grinning Face',
    '\u0080': 'Control',
    '\u00f6': 'Latin Small Letter O With Diaeresis',
  };
  const text = canonicalJson(input);
  const keys = [...text.matchAll(/[{,]("(?:[^"\\]|\\.)*"):/g)].map((m) => JSON.parse(m[1]!));
  assert.deepEqual(keys, ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
});

test('numbers serialise in the ECMAScript shortest form', () => {
  const cases: [number, string][] = [
    [1e30, '1e+30'],
    [4.5, '4.5'],
    [0.002, '0.002'],
    [1e-7, '1e-7'],
    [-0, '0'],
    [333333333.3333333, '333333333.3333333'],
    [9007199254740992, '9007199254740992'],
  ];
  for (const [value, text] of cases) assert.equal(canonicalJson(value), text);
});

test('strings escape only what JSON requires, with lowercase hex', () => {
  assert.equal(canonicalJson('\u000f\u20ac"\\/'), '"\\u000f€\\"\\\\/"');
});

test('whitespace is gone and nesting is kept', () => {
  assert.equal(
    canonicalJson({ b: [3, { z: null, a: true }], a: 'x' }),
    '{"a":"x","b":[3,{"a":true,"z":null}]}',
  );
});

test('values JSON cannot hold are refused', () => {
  assert.throws(() => canonicalJson(Number.NaN), TypeError);
  assert.throws(() => canonicalJson(Infinity), TypeError);
  assert.throws(() => canonicalJson(10n), TypeError);
});

test('the canonical form parses back to an equal value and is stable under reordering', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = canonicalJson(value);
      const reparsed: unknown = JSON.parse(text);
      assert.equal(canonicalJson(reparsed), text);
    }),
    { numRuns: 300 },
  );
});
