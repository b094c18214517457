// Fuzzing of the RFC 3161 readers and of the TSA's request handler with random bytes and
// mutated tokens: readers only throw PkiError, the handler always answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  encodeTimeStampRequest,
  imprintOf,
  parseTimeStampRequest,
  parseTimeStampResponse,
  TimeStampAuthority,
  verifyTimeStampToken,
} from '../../src/pki/tsp.js';
import { PkiError } from '../../src/pki/errors.js';
import { testLeaf, testRoot } from './pki-sign-fixtures.js';

function onlyPkiErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof PkiError)) assert.fail(`escaped ${String(error)}`);
  }
}

const root = testRoot('rsa');
const tsa = new TimeStampAuthority({
  ...testLeaf(root, 'rsa', { extKeyUsage: ['1.3.6.1.5.5.7.3.8'], extKeyUsageCritical: true }),
  clock: () => new Date('2026-01-01T00:00:00Z'),
  policy: '1.2.3.4',
});
const REQUEST = encodeTimeStampRequest({ imprint: imprintOf(Uint8Array.of(1)), certReq: true });
const RESPONSE = tsa.respond(REQUEST);
const TOKEN = parseTimeStampResponse(RESPONSE).token as Uint8Array;

function mutate(source: Uint8Array, edits: [number, number][], cut?: number): Uint8Array {
  const bytes = Uint8Array.from(source);
  for (const [at, value] of edits) bytes[at % bytes.length] = value;
  return cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
}

test('fuzz tsp: random and mutated inputs only give PkiError; respond always answers', () => {
  let count = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      count++;
      onlyPkiErrors(() => parseTimeStampResponse(bytes));
      onlyPkiErrors(() => verifyTimeStampToken(bytes));
      onlyPkiErrors(() => parseTimeStampRequest(bytes));
      assert.equal(parseTimeStampResponse(tsa.respond(bytes)).status !== undefined, true);
    }),
    { numRuns: 800 },
  );
  const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 5,
  });
  fc.assert(
    fc.property(edits, fc.option(fc.nat(), { nil: undefined }), (e, cut) => {
      count++;
      onlyPkiErrors(() => verifyTimeStampToken(mutate(TOKEN, e, cut), { data: Uint8Array.of(1) }));
      onlyPkiErrors(() => parseTimeStampResponse(mutate(RESPONSE, e, cut)));
      const answer = parseTimeStampResponse(tsa.respond(mutate(REQUEST, e, cut)));
      assert.ok(answer.status === 0 || answer.status === 2);
    }),
    { numRuns: 400 },
  );
  console.log(`fuzz tsp: ${count} inputs`);
});
