// Fuzzing of a parser: random bytes, then real inputs with a few bytes flipped and maybe cut
// short. Every step may only ever throw PkiError; the number of inputs tried is printed.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PkiError } from '../../src/pki/errors.js';

export interface FuzzRuns {
  random: number;
  randomMaxLength: number;
  mutated: number;
}

export function fuzzParser(
  name: string,
  seeds: readonly Uint8Array[],
  steps: readonly ((input: Uint8Array) => unknown)[],
  runs: FuzzRuns,
): number {
  let inputs = 0;
  const check = (input: Uint8Array): void => {
    inputs += 1;
    for (const step of steps) {
      try {
        step(input);
      } catch (error) {
        assert.ok(error instanceof PkiError, `unexpected ${String(error)}`);
      }
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: runs.randomMaxLength }), check), {
    numRuns: runs.random,
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.option(fc.nat(), { nil: undefined }),
      (seed, flips, cut) => {
        const copy = Uint8Array.from(seed);
        for (const [at, value] of flips) copy[at % copy.length] = value;
        check(cut === undefined ? copy : copy.subarray(0, cut % copy.length));
      },
    ),
    { numRuns: runs.mutated },
  );
  console.log(`fuzz ${name}: ${inputs} inputs`);
  return inputs;
}
