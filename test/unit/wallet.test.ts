// The wallet's rules as properties: whatever sequence of operations is tried, the accepted ones
// never take the balance below zero, money is conserved, and a hold ends at most once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  EMPTY_LEDGER,
  applyEntry,
  checkGuaranteeContent,
  securityAmount,
  walletBalance,
} from '../../src/domain/wallet.js';
import type { LedgerEntry, LedgerState } from '../../src/domain/wallet.js';

type Attempt =
  | { op: 'deposit' | 'withdrawal' | 'hold'; amount: bigint }
  | { op: 'release' | 'retention'; pick: number };

const amount = fc.bigInt({ min: 1n, max: 1_000_000n });
const attempt: fc.Arbitrary<Attempt> = fc.oneof(
  fc.record({ op: fc.constantFrom('deposit', 'withdrawal', 'hold' as const), amount }),
  fc.record({ op: fc.constantFrom('release', 'retention' as const), pick: fc.nat(20) }),
);

/** Tries each attempt; ends pick among every hold so far, ended or not. */
function run(attempts: readonly Attempt[]) {
  let state: LedgerState = EMPTY_LEDGER;
  const accepted: LedgerEntry[] = [];
  const holds: LedgerEntry[] = [];
  const refusals: string[] = [];
  attempts.forEach((a, index) => {
    const id = `e${index}`;
    let entry: LedgerEntry;
    if ('pick' in a) {
      const target = holds[a.pick % Math.max(holds.length, 1)];
      entry = { id, kind: a.op, amount: target?.amount ?? 1n, holdId: target?.id ?? null };
    } else {
      entry = { id, kind: a.op, amount: a.amount, holdId: null };
    }
    try {
      state = applyEntry(state, entry);
      accepted.push(entry);
      if (entry.kind === 'hold') holds.push(entry);
    } catch (error) {
      assert.ok(error instanceof UppError, String(error));
      refusals.push(error.code);
    }
  });
  return { state, accepted, refusals };
}

test('available never goes negative after any accepted sequence', () => {
  fc.assert(
    fc.property(fc.array(attempt, { maxLength: 60 }), (attempts) => {
      const { state, accepted } = run(attempts);
      let prefix: LedgerEntry[] = [];
      for (const entry of accepted) {
        prefix = [...prefix, entry];
        assert.ok(walletBalance(prefix).available >= 0n);
      }
      assert.ok(state.balance.available >= 0n && state.balance.held >= 0n);
    }),
  );
});

test('money is conserved: deposits are available, held, retained or withdrawn', () => {
  fc.assert(
    fc.property(fc.array(attempt, { maxLength: 60 }), (attempts) => {
      const b = run(attempts).state.balance;
      assert.equal(b.available + b.held + b.retained + b.withdrawn, b.deposited);
    }),
  );
});

test('replaying the accepted entries gives the same balance as applying them one by one', () => {
  fc.assert(
    fc.property(fc.array(attempt, { maxLength: 60 }), (attempts) => {
      const { state, accepted } = run(attempts);
      assert.deepEqual(walletBalance(accepted), state.balance);
    }),
  );
});

test('a hold ended twice is refused, whichever way it ends each time', () => {
  fc.assert(
    fc.property(
      amount,
      fc.constantFrom('release', 'retention' as const),
      fc.constantFrom('release', 'retention' as const),
      (held, first, second) => {
        const entries: LedgerEntry[] = [
          { id: 'd', kind: 'deposit', amount: held, holdId: null },
          { id: 'h', kind: 'hold', amount: held, holdId: null },
          { id: 'x', kind: first, amount: held, holdId: 'h' },
        ];
        const state = entries.reduce(applyEntry, EMPTY_LEDGER);
        assert.throws(
          () => applyEntry(state, { id: 'y', kind: second, amount: held, holdId: 'h' }),
          (error: unknown) => error instanceof UppError && error.code === 'wallet.hold_ended',
        );
      },
    ),
  );
});

test('a hold or withdrawal beyond the available money is refused as insufficient', () => {
  const state = applyEntry(EMPTY_LEDGER, { id: 'd', kind: 'deposit', amount: 100n, holdId: null });
  for (const kind of ['hold', 'withdrawal'] as const) {
    assert.throws(
      () => applyEntry(state, { id: 'x', kind, amount: 101n, holdId: null }),
      (error: unknown) =>
        error instanceof UppError && error.code === 'wallet.insufficient' && error.status === 422,
    );
  }
});

test('a release gives money back; a retention keeps it', () => {
  const base: LedgerEntry[] = [
    { id: 'd', kind: 'deposit', amount: 1000n, holdId: null },
    { id: 'h', kind: 'hold', amount: 400n, holdId: null },
  ];
  const released = walletBalance([
    ...base,
    { id: 'r', kind: 'release', amount: 400n, holdId: 'h' },
  ]);
  assert.equal(released.available, 1000n);
  assert.equal(released.held, 0n);
  const kept = walletBalance([...base, { id: 'k', kind: 'retention', amount: 400n, holdId: 'h' }]);
  assert.equal(kept.available, 600n);
  assert.equal(kept.retained, 400n);
  assert.throws(
    () => walletBalance([...base, { id: 'p', kind: 'release', amount: 300n, holdId: 'h' }]),
    (error: unknown) => error instanceof UppError && error.code === 'wallet.amount_mismatch',
  );
});

test('security is the basis points of the lot amount, rounded half-up to the tiyn', () => {
  assert.equal(securityAmount(450_000_000n, 100), 4_500_000n);
  assert.equal(securityAmount(450_000_000n, 300), 13_500_000n);
  assert.equal(securityAmount(150n, 100), 2n);
  assert.equal(securityAmount(149n, 100), 1n);
});

const need = {
  procurementId: 'p-1',
  lotId: 'l-1',
  principalBin: '210340000011',
  amount: 4_500_000n,
  at: new Date('2026-03-02T04:00:00Z'),
};
const content = {
  number: 'BG-2026/0042',
  beneficiary: { procurementId: 'p-1', lotId: 'l-1' },
  principal: { bin: '210340000011' },
  amount: '45000.00',
  currency: 'KZT',
  validUntil: '2026-06-30T23:59:59+05:00',
};

test('a guarantee that names the lot, the supplier and enough money is accepted', () => {
  const terms = checkGuaranteeContent(content, need);
  assert.equal(terms.amount, 4_500_000n);
  assert.equal(terms.number, 'BG-2026/0042');
});

test('each wrong term of a guarantee has its own refusal', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...content, beneficiary: { procurementId: 'p-1', lotId: 'l-2' } }, 'wrong_beneficiary'],
    [{ ...content, principal: { bin: '210340000022' } }, 'wrong_principal'],
    [{ ...content, amount: '44999.99' }, 'amount_too_low'],
    [{ ...content, amount: '45 000' }, 'malformed'],
    [{ ...content, currency: 'USD' }, 'wrong_currency'],
    [{ ...content, validUntil: '2026-03-02T09:00:00+05:00' }, 'expired'],
    [{ ...content, validUntil: 'soon' }, 'malformed'],
    [{ ...content, number: undefined }, 'malformed'],
  ];
  for (const [changed, code] of cases) {
    assert.throws(
      () => checkGuaranteeContent(changed, need),
      (error: unknown) => error instanceof UppError && error.code === `guarantee.${code}`,
      code,
    );
  }
});
