// Fuzzing of the CMS reader and verifier with random bytes and mutated NCA RK messages: the
// only failure allowed to escape is a PkiError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkCmsSignatures, parseCms } from '../../src/pki/cms.js';
import { decodeBer } from '../../src/pki/ber.js';
import { PkiError } from '../../src/pki/errors.js';
import { readVector } from './pki-sign-fixtures.js';

const SAMPLES = [
  readVector('cms/cms_attached_2signers_test123.p7s'),
  readVector('cms/cms_detached_2signers_test123.p7s'),
  readVector('cms/cms_attached_1signer_rsa_test123.p7s'),
];
const CONTENT = readVector('cms/test123.txt');

/** Runs `parse` and accepts a result or a PkiError, nothing else. */
function onlyPkiErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof PkiError)) {
      assert.fail(`escaped ${(error as Error)?.constructor?.name}: ${String(error)}`);
    }
  }
}

const mutation = fc.record({
  sample: fc.nat(SAMPLES.length - 1),
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 6,
  }),
  cut: fc.option(fc.nat(), { nil: undefined }),
});

function mutate(m: { sample: number; edits: [number, number][]; cut?: number }): Uint8Array {
  const source = SAMPLES[m.sample] as Uint8Array;
  const bytes = Uint8Array.from(source);
  for (const [at, value] of m.edits) bytes[at % bytes.length] = value;
  return m.cut === undefined ? bytes : bytes.subarray(0, m.cut % bytes.length);
}

function verifyAll(bytes: Uint8Array | string): void {
  const cms = parseCms(bytes);
  checkCmsSignatures(cms, { content: cms.content === undefined ? CONTENT : undefined });
}

test('fuzz cms: random bytes only give PkiError', () => {
  let count = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      count++;
      onlyPkiErrors(() => verifyAll(bytes));
      onlyPkiErrors(() => decodeBer(bytes, 'x.malformed'));
    }),
    { numRuns: 1500 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (text) => {
      count++;
      onlyPkiErrors(() => verifyAll(text));
    }),
    { numRuns: 500 },
  );
  console.log(`fuzz cms random: ${count} inputs`);
});

test('fuzz cms: mutated and truncated real messages only give PkiError', () => {
  let count = 0;
  fc.assert(
    fc.property(mutation, (m) => {
      count++;
      onlyPkiErrors(() => verifyAll(mutate(m)));
    }),
    { numRuns: 600 },
  );
  console.log(`fuzz cms mutated: ${count} inputs`);
});

test('deep nesting and huge lengths are refused quickly', () => {
  const deep = new Uint8Array(4000);
  for (let i = 0; i < deep.length; i += 2) {
    deep[i] = 0x30;
    deep[i + 1] = 0x80;
  }
  assert.throws(() => parseCms(deep), PkiError);
  assert.throws(() => parseCms(Uint8Array.of(0x30, 0x84, 0x7f, 0xff, 0xff, 0xff)), PkiError);
});
