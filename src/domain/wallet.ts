// The wallet's rules over its ledger: what is available, which entries a ledger accepts, the
// application security a lot needs, and what a bank guarantee must say. No I/O here.
import { UppError } from './errors.js';
import { parseAmount, percentOf } from './money.js';
import type { Tiyn } from './money.js';

export const WALLET_ENTRY_KINDS = [
  'deposit',
  'hold',
  'release',
  'retention',
  'withdrawal',
] as const;
export type WalletEntryKind = (typeof WALLET_ENTRY_KINDS)[number];

export interface LedgerEntry {
  id: string;
  kind: WalletEntryKind;
  amount: Tiyn;
  /** The hold a release or retention ends; null for the other kinds. */
  holdId: string | null;
}

/**
 * A participant's money, derived from the ledger alone:
 * available = deposited - withdrawn - held - retained, where `held` counts only open holds (not
 * yet released or retained) and `retained` the holds kept as security. A release gives the
 * hold's money back to `available`; a retention moves it from `held` to `retained` for good.
 */
export interface WalletBalance {
  deposited: Tiyn;
  withdrawn: Tiyn;
  held: Tiyn;
  retained: Tiyn;
  available: Tiyn;
}

export const EMPTY_BALANCE: WalletBalance = {
  deposited: 0n,
  withdrawn: 0n,
  held: 0n,
  retained: 0n,
  available: 0n,
};

/** Open holds by id with their amounts, and the ids of holds already ended. */
export interface LedgerState {
  balance: WalletBalance;
  openHolds: ReadonlyMap<string, Tiyn>;
  endedHolds: ReadonlySet<string>;
}

export const EMPTY_LEDGER: LedgerState = {
  balance: EMPTY_BALANCE,
  openHolds: new Map(),
  endedHolds: new Set(),
};

export function insufficient(available: Tiyn, amount: Tiyn): UppError {
  return new UppError(
    'wallet.insufficient',
    422,
    `the wallet has ${available} tiyn available, ${amount} tiyn are needed`,
    { available: available.toString(), needed: amount.toString() },
  );
}

/** Refuses what would take more than is available: holds and withdrawals. */
export function checkSpend(balance: WalletBalance, amount: Tiyn): void {
  checkPositive(amount);
  if (balance.available < amount) throw insufficient(balance.available, amount);
}

export function checkPositive(amount: Tiyn): void {
  if (amount <= 0n) {
    throw new UppError('wallet.bad_amount', 422, 'a wallet amount is a positive number of tiyn');
  }
}

/** A release or retention must end an open hold, once, for its whole amount. */
export function checkEnd(state: LedgerState, holdId: string | null, amount: Tiyn): Tiyn {
  if (holdId === null) throw new UppError('wallet.hold_unknown', 404, 'no hold is named');
  if (state.endedHolds.has(holdId)) {
    throw new UppError('wallet.hold_ended', 409, `hold ${holdId} was already released or kept`);
  }
  const held = state.openHolds.get(holdId);
  if (held === undefined) {
    throw new UppError('wallet.hold_unknown', 404, `no hold ${holdId} in this wallet`);
  }
  if (held !== amount) {
    throw new UppError('wallet.amount_mismatch', 422, 'a hold ends for its whole amount');
  }
  return held;
}

/** The ledger after one more entry; throws the refusal when the ledger would not accept it. */
export function applyEntry(state: LedgerState, entry: LedgerEntry): LedgerState {
  checkPositive(entry.amount);
  const b = state.balance;
  switch (entry.kind) {
    case 'deposit':
      return withBalance(state, {
        ...b,
        deposited: b.deposited + entry.amount,
        available: b.available + entry.amount,
      });
    case 'withdrawal':
      checkSpend(b, entry.amount);
      return withBalance(state, {
        ...b,
        withdrawn: b.withdrawn + entry.amount,
        available: b.available - entry.amount,
      });
    case 'hold': {
      checkSpend(b, entry.amount);
      const openHolds = new Map(state.openHolds).set(entry.id, entry.amount);
      return {
        ...state,
        openHolds,
        balance: { ...b, held: b.held + entry.amount, available: b.available - entry.amount },
      };
    }
    case 'release':
    case 'retention': {
      const amount = checkEnd(state, entry.holdId, entry.amount);
      const openHolds = new Map(state.openHolds);
      openHolds.delete(entry.holdId!);
      const endedHolds = new Set(state.endedHolds).add(entry.holdId!);
      const balance =
        entry.kind === 'release'
          ? { ...b, held: b.held - amount, available: b.available + amount }
          : { ...b, held: b.held - amount, retained: b.retained + amount };
      return { balance, openHolds, endedHolds };
    }
  }
}

function withBalance(state: LedgerState, balance: WalletBalance): LedgerState {
  return { ...state, balance };
}

/** Replays a whole ledger in order; throws at the first entry the ledger would have refused. */
export function replayLedger(entries: Iterable<LedgerEntry>): LedgerState {
  let state = EMPTY_LEDGER;
  for (const entry of entries) state = applyEntry(state, entry);
  return state;
}

/** The balance of a ledger, by the definition above. */
export function walletBalance(entries: Iterable<LedgerEntry>): WalletBalance {
  return replayLedger(entries).balance;
}

/** The application security of a lot: basis points of its amount, half-up to the tiyn. */
export function securityAmount(lotAmount: Tiyn, securityBasisPoints: number): Tiyn {
  return percentOf(lotAmount, securityBasisPoints);
}

/** The reference of the hold that secures one lot of one application. */
export function holdReference(applicationId: string, lotId: string): string {
  return `application:${applicationId}:lot:${lotId}`;
}

/** What an electronic bank guarantee must be given for. */
export interface GuaranteeNeed {
  procurementId: string;
  lotId: string;
  principalBin: string;
  amount: Tiyn;
  at: Date;
}

/** What a guarantee says, once checked. */
export interface GuaranteeTerms {
  number: string;
  amount: Tiyn;
  validUntil: Date;
}

function guaranteeRefusal(code: string, message: string): UppError {
  return new UppError(`guarantee.${code}`, 422, message);
}

function field(content: Record<string, unknown>, path: string): unknown {
  let value: unknown = content;
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

function textField(content: Record<string, unknown>, path: string): string {
  const value = field(content, path);
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw guaranteeRefusal('malformed', `the guarantee's signed content needs ${path}`);
  }
  return value;
}

/**
 * The signed content of a `bank_guarantee` document, checked against what the application needs:
 * `{ number, beneficiary: { procurementId, lotId }, principal: { bin }, amount: "<tenge>",
 * currency: "KZT", validUntil: "<ISO instant>" }`.
 */
export function checkGuaranteeContent(
  content: Record<string, unknown>,
  need: GuaranteeNeed,
): GuaranteeTerms {
  const number = textField(content, 'number');
  if (
    textField(content, 'beneficiary.procurementId') !== need.procurementId ||
    textField(content, 'beneficiary.lotId') !== need.lotId
  ) {
    throw guaranteeRefusal('wrong_beneficiary', 'the guarantee is given for another lot');
  }
  if (textField(content, 'principal.bin') !== need.principalBin) {
    throw guaranteeRefusal('wrong_principal', 'the guarantee is given for another supplier');
  }
  if (textField(content, 'currency') !== 'KZT') {
    throw guaranteeRefusal('wrong_currency', 'a guarantee for security is in KZT');
  }
  let amount: Tiyn;
  try {
    amount = parseAmount(textField(content, 'amount'));
  } catch {
    throw guaranteeRefusal('malformed', 'the guarantee amount is tenge with two decimals');
  }
  if (amount < need.amount) {
    throw guaranteeRefusal('amount_too_low', `the guarantee covers less than ${need.amount} tiyn`);
  }
  const validText = textField(content, 'validUntil');
  const validUntil = new Date(validText);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(validText) || Number.isNaN(validUntil.getTime())) {
    throw guaranteeRefusal('malformed', 'validUntil is an ISO instant');
  }
  if (validUntil.getTime() <= need.at.getTime()) {
    throw guaranteeRefusal('expired', 'the guarantee is no longer valid');
  }
  return { number, amount, validUntil };
}
