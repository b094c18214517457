// Fuzzing of the PKCS#12 reader with random bytes and mutated NCA RK key stores: the only
// failure allowed to escape is a PkiError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { openPkcs12 } from '../../src/pki/pkcs12.js';
import { privateKeyFromPkcs8 } from '../../src/pki/keys.js';
import { PkiError } from '../../src/pki/errors.js';
import { readVector } from './pki-sign-fixtures.js';

const STORE = readVector('p12/ncanode/individual_valid_2015_gost2015.p12');

function onlyPkiErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof PkiError)) assert.fail(`escaped ${String(error)}`);
  }
}

test('fuzz pkcs12: random and mutated key stores only give PkiError', () => {
  let count = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      count++;
      onlyPkiErrors(() => openPkcs12(bytes, 'Aa123456'));
      onlyPkiErrors(() => privateKeyFromPkcs8(bytes));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.option(fc.nat(), { nil: undefined }),
      (edits, cut) => {
        count++;
        const bytes = Uint8Array.from(STORE);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        const input = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
        onlyPkiErrors(() => openPkcs12(input, 'Aa123456'));
      },
    ),
    { numRuns: 300 },
  );
  console.log(`fuzz pkcs12: ${count} inputs`);
});

test('a hostile iteration count is refused before any work', () => {
  const bytes = Uint8Array.from(STORE);
  // The MAC iteration INTEGER 0x0400 is the last element; make it 0x7fffffff.
  const tail = Buffer.from('02020400', 'hex');
  const at = Buffer.from(bytes).lastIndexOf(tail);
  const patched = Buffer.concat([
    Buffer.from(bytes.subarray(0, at)),
    Buffer.from('02047fffffff', 'hex'),
  ]);
  patched[3] = (patched[3] as number) + 2;
  const macData = patched.lastIndexOf(Buffer.from('303d3021', 'hex'));
  patched[macData + 1] = 0x3f;
  const started = Date.now();
  assert.throws(() => openPkcs12(patched, 'Aa123456'), /MAC iteration count is out of range/);
  assert.ok(Date.now() - started < 1000);
});
