// The auction's rules as properties: the step below the best price, the late-bid extension, the
// refusals by the server's instant, and the ranking (lowest price, then earliest, then seat).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  AUCTION_DEFAULTS,
  checkSettings,
  decideBid,
  extendedEnd,
  highestAcceptedBid,
  minimumStep,
  rankStandings,
} from '../../src/domain/auction.js';
import type { AuctionState, Standing } from '../../src/domain/auction.js';
import { UppError } from '../../src/domain/errors.js';

const START = Date.parse('2026-03-20T05:00:00.000Z');
const MINUTE = 60_000;

const best = fc.bigInt({ min: 1n, max: 10n ** 15n });
const basisPoints = fc.integer({ min: 1, max: 5_000 });

function running(bestPrice: bigint, endsAt = START + 20 * MINUTE): AuctionState {
  return {
    status: 'open',
    startsAt: new Date(START),
    endsAt: new Date(endsAt),
    bestPrice,
    stepBasisPoints: AUCTION_DEFAULTS.stepBasisPoints,
    extensionWindowMs: AUCTION_DEFAULTS.extensionWindowMs,
    extensionMs: AUCTION_DEFAULTS.extensionMs,
  };
}

function refusalCode(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof UppError);
    return error.code;
  }
}

test('the minimum step is the share of the best price rounded up, at least one tiyn', () => {
  fc.assert(
    fc.property(best, basisPoints, (price, bp) => {
      const step = minimumStep(price, bp);
      const share = price * BigInt(bp);
      assert.ok(step >= 1n);
      assert.ok(step * 10_000n >= share, 'never less than the share');
      if (step > 1n) assert.ok((step - 1n) * 10_000n < share, 'rounded up by less than a tiyn');
    }),
  );
  assert.equal(minimumStep(100_000_000n, 50), 500_000n, '0.5% of 1,000,000.00 is 5,000.00');
});

test('a bid one step below the best is accepted; a tiyn more is refused as too small', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1_000n, max: 10n ** 15n }), (price) => {
      const ceiling = highestAcceptedBid(price, AUCTION_DEFAULTS.stepBasisPoints);
      const at = new Date(START + MINUTE);
      assert.equal(decideBid(running(price), ceiling, at).extended, false);
      assert.equal(
        refusalCode(() => decideBid(running(price), ceiling + 1n, at)),
        'auction.step_too_small',
      );
      assert.equal(
        refusalCode(() => decideBid(running(price), price, at)),
        'auction.step_too_small',
        'a bid equal to the best is not below it',
      );
    }),
  );
});

test('a bid of zero or less is refused', () => {
  const at = new Date(START + MINUTE);
  assert.equal(
    refusalCode(() => decideBid(running(1_000n), 0n, at)),
    'auction.step_too_small',
  );
  assert.equal(
    refusalCode(() => decideBid(running(1n), 0n, at)),
    'auction.step_too_small',
  );
});

test('a bid in the last two minutes leaves two minutes; earlier bids keep the end', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 20 * MINUTE - 1 }), (offset) => {
      const at = new Date(START + offset);
      const end = new Date(START + 20 * MINUTE);
      const after = extendedEnd(end, at, AUCTION_DEFAULTS);
      assert.ok(after.getTime() >= end.getTime(), 'never shortened');
      if (end.getTime() - at.getTime() <= 2 * MINUTE) {
        assert.equal(after.getTime(), at.getTime() + 2 * MINUTE);
      } else {
        assert.equal(after.getTime(), end.getTime());
      }
    }),
  );
  const late = decideBid(running(100_000n), 99_000n, new Date(START + 19 * MINUTE));
  assert.deepEqual(late, { endsAt: new Date(START + 21 * MINUTE), extended: true });
});

test('the end itself is too late, a closed auction takes nothing, nor one not started', () => {
  const state = running(100_000n);
  assert.equal(
    refusalCode(() => decideBid(state, 90_000n, state.endsAt)),
    'auction.after_close',
  );
  assert.equal(
    refusalCode(() => decideBid({ ...state, status: 'closed' }, 90_000n, new Date(START))),
    'auction.after_close',
  );
  assert.equal(
    refusalCode(() => decideBid(state, 90_000n, new Date(START - 1))),
    'auction.not_running',
  );
  assert.equal(decideBid(state, 90_000n, new Date(state.endsAt.getTime() - 1)).extended, true);
});

const standing = fc.record({
  price: fc.bigInt({ min: 1n, max: 50n }),
  at: fc.integer({ min: 0, max: 10 }).map((n) => new Date(START + n * 1000)),
});

test('ranks run 1..n: lowest price first, then the earlier, whatever the input order', () => {
  fc.assert(
    fc.property(fc.array(standing, { minLength: 1, maxLength: 12 }), (drawn) => {
      const standings: Standing[] = drawn.map((s, index) => ({
        ...s,
        participantId: `p${index}`,
        seat: index + 1,
      }));
      const ranked = rankStandings(standings);
      const reversed = rankStandings([...standings].reverse());
      assert.deepEqual(
        ranked.map((s) => s.rank),
        standings.map((_, index) => index + 1),
      );
      assert.deepEqual(
        ranked.map((s) => s.participantId),
        reversed.map((s) => s.participantId),
        'the order of the input does not matter',
      );
      for (let i = 1; i < ranked.length; i += 1) {
        const [a, b] = [ranked[i - 1]!, ranked[i]!];
        assert.ok(a.price <= b.price);
        if (a.price === b.price) assert.ok(a.at.getTime() <= b.at.getTime());
      }
    }),
  );
});

test('settings outside their ranges are refused; the defaults pass', () => {
  checkSettings(AUCTION_DEFAULTS);
  assert.deepEqual(
    [
      { stepBasisPoints: 0 },
      { stepBasisPoints: 0.5 },
      { durationMs: 1_000 },
      { extensionMs: -1 },
      { startDelayMs: Number.NaN },
    ].map((change) => refusalCode(() => checkSettings({ ...AUCTION_DEFAULTS, ...change }))),
    Array(5).fill('auction.bad_settings'),
  );
});
