// Money in KZT as integer tiyn (bigint; 1 tenge = 100 tiyn), with VAT by date of turnover and the
// monthly calculation index (MRP) by year. No floating point touches an amount anywhere here.
import { UppError } from './errors.js';
import { localDateToEpochDay } from './time.js';

/** An amount in tiyn. */
export type Tiyn = bigint;

export const TIYN_PER_TENGE = 100n;

/** 1% is 100 basis points; 100% is 10,000. */
export const BASIS_POINTS_PER_WHOLE = 10_000n;

/** Amounts above 10^18 tiyn are refused as input: no real procurement comes near. */
const MAX_INPUT_LENGTH = 40;
const AMOUNT = /^(-)?(\d{1,18})(?:\.(\d{1,2}))?$/;

export interface ParseAmountOptions {
  /** Accept a leading minus (refunds, corrections); prices typed by users never need it. */
  signed?: boolean;
}

function invalidAmount(input: string, why: string): UppError {
  const shown = input.length > MAX_INPUT_LENGTH ? `${input.slice(0, MAX_INPUT_LENGTH)}...` : input;
  return new UppError('money.invalid_amount', 422, `not an amount in tenge (${why}): ${shown}`, {
    value: shown,
  });
}

/**
 * Reads an amount in tenge written with a point and at most two decimals ("1234.56", "7", "0.5")
 * into tiyn. Exponents, grouping, commas, "NaN", "Infinity" and a third decimal are refused.
 */
export function parseAmount(input: string, options: ParseAmountOptions = {}): Tiyn {
  if (typeof input !== 'string') throw invalidAmount(String(input), 'not text');
  if (input.length > MAX_INPUT_LENGTH) throw invalidAmount(input, 'too long');
  const match = AMOUNT.exec(input);
  if (match === null) throw invalidAmount(input, 'digits with at most two decimals expected');
  if (match[1] !== undefined && options.signed !== true) {
    throw invalidAmount(input, 'negative amounts are not accepted here');
  }
  const tenge = BigInt(match[2] ?? '0');
  const tiyn = BigInt((match[3] ?? '').padEnd(2, '0'));
  const magnitude = tenge * TIYN_PER_TENGE + tiyn;
  return match[1] === undefined ? magnitude : -magnitude;
}

export interface FormatAmountOptions {
  /** Put between groups of three digits: '' (default), '\u00a0' no-break or '\u202f' thin. */
  groupSeparator?: string;
  /** '.' by default; ',' for Kazakh and Russian display. */
  decimalSeparator?: string;
}

/** Writes tiyn as tenge with exactly two decimals; parseAmount reads back the default form. */
export function formatAmount(amount: Tiyn, options: FormatAmountOptions = {}): string {
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const tenge = (magnitude / TIYN_PER_TENGE).toString();
  const tiyn = (magnitude % TIYN_PER_TENGE).toString().padStart(2, '0');
  const grouped = tenge.replace(/\B(?=(\d{3})+$)/g, options.groupSeparator ?? '');
  return `${negative ? '-' : ''}${grouped}${options.decimalSeparator ?? '.'}${tiyn}`;
}

/** Tenge (whole) as tiyn. */
export function tenge(whole: bigint | number): Tiyn {
  return wholeNumber(whole, 'tenge') * TIYN_PER_TENGE;
}

function wholeNumber(value: bigint | number, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) {
    throw new UppError('money.not_integer', 500, `${what} must be a whole number, got ${value}`, {
      value: String(value),
    });
  }
  return BigInt(value);
}

export function sumAmounts(amounts: Iterable<Tiyn>): Tiyn {
  let total = 0n;
  for (const amount of amounts) total += amount;
  return total;
}

export function multiplyAmount(amount: Tiyn, factor: bigint | number): Tiyn {
  return amount * wholeNumber(factor, 'factor');
}

export function minAmount(first: Tiyn, ...rest: Tiyn[]): Tiyn {
  return rest.reduce((least, amount) => (amount < least ? amount : least), first);
}

export function maxAmount(first: Tiyn, ...rest: Tiyn[]): Tiyn {
  return rest.reduce((most, amount) => (amount > most ? amount : most), first);
}

/**
 * numerator / denominator rounded half-up to the tiyn: a remainder of exactly one half goes away
 * from zero (2.5 -> 3, -2.5 -> -3), so a negative amount rounds as the mirror of its positive.
 */
export function divideRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new UppError('money.division_by_zero', 500, 'division by zero');
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const quotient = (n * 2n + d) / (d * 2n);
  return negative ? -quotient : quotient;
}

/** A share of an amount given in basis points (100 = 1%), rounded half-up to the tiyn. */
export function percentOf(amount: Tiyn, basisPoints: bigint | number): Tiyn {
  return divideRoundHalfUp(
    amount * wholeNumber(basisPoints, 'basis points'),
    BASIS_POINTS_PER_WHOLE,
  );
}

/**
 * Splits an amount in proportion to whole-number weights so the parts add up to it exactly:
 * each part gets its floor, then the tiyn left over go one each to the largest remainders
 * (earlier parts first on a tie).
 */
export function allocate(amount: Tiyn, weights: readonly (bigint | number)[]): Tiyn[] {
  const shares = weights.map((weight) => wholeNumber(weight, 'weight'));
  const total = sumAmounts(shares);
  if (shares.length === 0 || total <= 0n || shares.some((share) => share < 0n)) {
    throw new UppError(
      'money.invalid_allocation',
      500,
      'weights must be >= 0 with a positive sum',
      {
        weights: shares.map(String),
      },
    );
  }
  const negative = amount < 0n;
  const magnitude = negative ? -amount : amount;
  const parts = shares.map((share) => (magnitude * share) / total);
  const remainders = shares.map((share, index) => ({ index, rest: (magnitude * share) % total }));
  remainders.sort((a, b) => (a.rest === b.rest ? a.index - b.index : a.rest > b.rest ? -1 : 1));
  let left = magnitude - sumAmounts(parts);
  for (const { index } of remainders) {
    if (left === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    left -= 1n;
  }
  return negative ? parts.map((part) => -part) : parts;
}

/** A VAT rate in force from a date of turnover (inclusive) until the next entry. */
export interface VatRate {
  from: string;
  basisPoints: number;
}

/** Tax Code: 12% until 2025-12-31; 16% for turnover from 2026-01-01. */
export const VAT_RATES: readonly VatRate[] = [
  { from: '2009-01-01', basisPoints: 1200 },
  { from: '2026-01-01', basisPoints: 1600 },
];

/** The VAT rate (basis points) for a turnover on an Astana local date. */
export function vatRateOn(localDate: string, rates: readonly VatRate[] = VAT_RATES): number {
  localDateToEpochDay(localDate);
  let found: VatRate | undefined;
  for (const rate of rates) {
    if (rate.from <= localDate && (found === undefined || rate.from > found.from)) found = rate;
  }
  if (found === undefined) {
    throw new UppError('vat.rate_unknown', 500, `no VAT rate known for turnover on ${localDate}`, {
      date: localDate,
    });
  }
  return found.basisPoints;
}

export interface VatAmount {
  /** The rate applied, to be stored with the line it was applied to. */
  rateBasisPoints: number;
  vat: Tiyn;
}

export interface GrossAmount extends VatAmount {
  net: Tiyn;
  gross: Tiyn;
}

/** VAT on a net amount for a turnover on a date, rounded half-up to the tiyn. */
export function vatOf(
  net: Tiyn,
  localDate: string,
  rates: readonly VatRate[] = VAT_RATES,
): VatAmount {
  const rateBasisPoints = vatRateOn(localDate, rates);
  return { rateBasisPoints, vat: percentOf(net, rateBasisPoints) };
}

/** Net, VAT and gross for a turnover on a date. */
export function grossOf(
  net: Tiyn,
  localDate: string,
  rates: readonly VatRate[] = VAT_RATES,
): GrossAmount {
  const { rateBasisPoints, vat } = vatOf(net, localDate, rates);
  return { net, rateBasisPoints, vat, gross: net + vat };
}

/** The monthly calculation index (MRP) in tenge, by year (annual budget laws). */
export const MRP_BY_YEAR: Readonly<Record<number, bigint>> = {
  2024: 3692n,
  2025: 3932n,
  2026: 4325n,
};

/** One MRP of a year in tiyn. */
export function mrp(year: number, table: Readonly<Record<number, bigint>> = MRP_BY_YEAR): Tiyn {
  const value = Number.isInteger(year) ? table[year] : undefined;
  if (value === undefined) {
    throw new UppError('mrp.year_unknown', 500, `no MRP known for ${year}; add it to the table`, {
      year,
      known: Object.keys(table),
    });
  }
  return value * TIYN_PER_TENGE;
}

/** A limit given as a whole number of MRP, in tiyn (e.g. 8,000 MRP for requests for prices). */
export function mrpAmount(
  count: bigint | number,
  year: number,
  table: Readonly<Record<number, bigint>> = MRP_BY_YEAR,
): Tiyn {
  return wholeNumber(count, 'MRP count') * mrp(year, table);
}
