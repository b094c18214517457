import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalForm, canonicalParts } from '../../src/services/audit.js';

const text = fc.string({ unit: 'grapheme', maxLength: 20 });
const details = fc.dictionary(
  text,
  fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 })),
  { maxKeys: 5 },
);

test('the parts the commit links are the canonical form around the hash and the number', () => {
  fc.assert(
    fc.property(
      fc.record({
        recordedAt: fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        }),
        actor: text,
        action: text,
        target: fc.option(text, { nil: null }),
        requestId: fc.option(text, { nil: null }),
        details,
        seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        prevHash: fc.stringMatching(/^[0-9a-f]{64}$/),
      }),
      (entry) => {
        const parts = canonicalParts(entry);
        const joined =
          parts.beforePrev + entry.prevHash + parts.beforeSeq + String(entry.seq) + parts.afterSeq;
        assert.equal(joined, canonicalForm(entry));
      },
    ),
    { numRuns: 500 },
  );
});
