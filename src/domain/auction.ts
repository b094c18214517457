// The real-time reverse auction's rules, free of I/O: the minimum step below the best price, the
// extension of the end when a bid arrives late, and the ranking (lowest price, then earliest).
import { UppError } from './errors.js';
import { BASIS_POINTS_PER_WHOLE } from './money.js';
import type { Tiyn } from './money.js';

const MINUTE_MS = 60_000;

/** How an auction runs; DOMAIN.md section 6 gives the defaults, an operator may change them. */
export interface AuctionSettings {
  /** The least a bid must go below the current best price, in basis points of it (50 = 0.5%). */
  stepBasisPoints: number;
  /** The session's length from its start. */
  durationMs: number;
  /** A bid this close to the end extends it... */
  extensionWindowMs: number;
  /** ...so that at least this long is left after the bid. */
  extensionMs: number;
  /** The start after the auction is opened (0: at once). */
  startDelayMs: number;
}

export const AUCTION_DEFAULTS: Readonly<AuctionSettings> = {
  stepBasisPoints: 50,
  durationMs: 20 * MINUTE_MS,
  extensionWindowMs: 2 * MINUTE_MS,
  extensionMs: 2 * MINUTE_MS,
  startDelayMs: 0,
};

const DAY_MS = 24 * 60 * MINUTE_MS;

/** Refuses settings no auction could run with, before any auction is opened with them. */
export function checkSettings(settings: AuctionSettings): void {
  const whole = (value: number, min: number, max: number) =>
    Number.isSafeInteger(value) && value >= min && value <= max;
  if (
    !whole(settings.stepBasisPoints, 1, 5_000) ||
    !whole(settings.durationMs, MINUTE_MS, DAY_MS) ||
    !whole(settings.extensionWindowMs, 0, DAY_MS) ||
    !whole(settings.extensionMs, 0, DAY_MS) ||
    !whole(settings.startDelayMs, 0, 30 * DAY_MS)
  ) {
    throw new UppError(
      'auction.bad_settings',
      500,
      'auction settings: a step of 1 to 5000 basis points, a session of 1 minute to 1 day, ' +
        'extensions and delays of whole milliseconds within a day (a delay within 30 days)',
    );
  }
}

/** The minimum step below `best`: its share in basis points, rounded up, and at least 1 tiyn. */
export function minimumStep(best: Tiyn, stepBasisPoints: number): Tiyn {
  const share = best * BigInt(stepBasisPoints);
  const step = (share + BASIS_POINTS_PER_WHOLE - 1n) / BASIS_POINTS_PER_WHOLE;
  return step < 1n ? 1n : step;
}

/** The highest price a bid may name now; none is possible once it would not be positive. */
export function highestAcceptedBid(best: Tiyn, stepBasisPoints: number): Tiyn {
  return best - minimumStep(best, stepBasisPoints);
}

/** The end after a bid at `at`: a bid in the window leaves at least the extension's length. */
export function extendedEnd(
  endsAt: Date,
  at: Date,
  settings: Pick<AuctionSettings, 'extensionWindowMs' | 'extensionMs'>,
): Date {
  const left = endsAt.getTime() - at.getTime();
  if (left > settings.extensionWindowMs) return endsAt;
  const extended = at.getTime() + settings.extensionMs;
  return extended > endsAt.getTime() ? new Date(extended) : endsAt;
}

export interface AuctionState {
  status: 'open' | 'closed';
  startsAt: Date;
  endsAt: Date;
  bestPrice: Tiyn;
  stepBasisPoints: number;
  extensionWindowMs: number;
  extensionMs: number;
}

/**
 * Decides a bid of `price` arriving at `at` by the server's clock: refused with its own code, or
 * accepted with the auction's end after it. The end itself is already too late.
 */
export function decideBid(
  state: AuctionState,
  price: Tiyn,
  at: Date,
): { endsAt: Date; extended: boolean } {
  if (state.status === 'closed' || at.getTime() >= state.endsAt.getTime()) {
    throw new UppError(
      'auction.after_close',
      409,
      `the auction ended at ${state.endsAt.toISOString()}`,
    );
  }
  if (at.getTime() < state.startsAt.getTime()) {
    throw new UppError(
      'auction.not_running',
      409,
      `the auction starts at ${state.startsAt.toISOString()}`,
    );
  }
  const ceiling = highestAcceptedBid(state.bestPrice, state.stepBasisPoints);
  if (price <= 0n || price > ceiling) {
    throw new UppError(
      'auction.step_too_small',
      409,
      'a bid must be at least one step below the best price and above zero',
      { highestAccepted: ceiling.toString() },
    );
  }
  const endsAt = extendedEnd(state.endsAt, at, state);
  return { endsAt, extended: endsAt.getTime() !== state.endsAt.getTime() };
}

/** A participant's standing: its own best price (opened offer or last bid) and when it came. */
export interface Standing {
  participantId: string;
  price: Tiyn;
  at: Date;
  /** The seat, from the order of the opened offers: the last tie-break, so ranks are unique. */
  seat: number;
}

export interface RankedStanding extends Standing {
  rank: number;
}

/** Ranks standings: the lowest price first; of equal prices, the earlier one; then the seat. */
export function rankStandings(standings: readonly Standing[]): RankedStanding[] {
  return [...standings]
    .sort(
      (a, b) =>
        (a.price < b.price ? -1 : a.price > b.price ? 1 : 0) ||
        a.at.getTime() - b.at.getTime() ||
        a.seat - b.seat,
    )
    .map((standing, index) => ({ ...standing, rank: index + 1 }));
}
