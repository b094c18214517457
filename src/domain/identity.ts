// Kazakhstan's individual (IIN) and business (BIN) identification numbers: check digit and the
// facts encoded in the digits. Numbers a person types are always checked here.
import { UppError } from './errors.js';

/**
 * The NCA RK test certificates carry fictitious numbers that FAIL the check (IIN 123456789011,
 * 123456789012, 940229400158; BIN 123456789021). Whoever reads a number from a certificate of a
 * trusted test PKI decides to take it as it is; this module never relaxes the check.
 */
export const NCA_TEST_NUMBERS: readonly string[] = [
  '123456789011',
  '123456789012',
  '940229400158',
  '123456789021',
];

const FIRST_WEIGHTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const SECOND_WEIGHTS = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
const TWELVE_DIGITS = /^\d{12}$/;

function weightedRemainder(digits: string, weights: readonly number[]): number {
  let sum = 0;
  for (let index = 0; index < weights.length; index += 1) {
    sum += (digits.charCodeAt(index) - 48) * (weights[index] ?? 0);
  }
  return sum % 11;
}

/**
 * The 12th digit for the first 11 digits of an IIN or BIN, or null when both weightings give 10
 * and no 12-digit number with these first digits is valid.
 */
export function checkDigit(first11: string): number | null {
  if (!/^\d{11}$/.test(first11)) {
    throw new UppError('identity.invalid_format', 422, 'a check digit needs exactly 11 digits', {
      length: typeof first11 === 'string' ? first11.length : undefined,
    });
  }
  const first = weightedRemainder(first11, FIRST_WEIGHTS);
  if (first !== 10) return first;
  const second = weightedRemainder(first11, SECOND_WEIGHTS);
  return second === 10 ? null : second;
}

function hasValidCheckDigit(number: string): boolean {
  return checkDigit(number.slice(0, 11)) === number.charCodeAt(11) - 48;
}

export type Sex = 'male' | 'female';

export interface Iin {
  iin: string;
  /** YYYY-MM-DD */
  birthDate: string;
  sex: Sex;
  century: 1800 | 1900 | 2000;
}

/** Digit 7 of an IIN: the century of birth and the sex (odd is male). */
const IIN_CENTURY_DIGITS: Readonly<Record<string, { century: Iin['century']; sex: Sex }>> = {
  '1': { century: 1800, sex: 'male' },
  '2': { century: 1800, sex: 'female' },
  '3': { century: 1900, sex: 'male' },
  '4': { century: 1900, sex: 'female' },
  '5': { century: 2000, sex: 'male' },
  '6': { century: 2000, sex: 'female' },
};

function shown(input: unknown): string {
  return typeof input === 'string' ? input.slice(0, 32) : typeof input;
}

/** Reads an IIN: format, check digit, then birth date, century and sex from digits 1-7. */
export function parseIin(input: string): Iin {
  if (typeof input !== 'string' || !TWELVE_DIGITS.test(input)) {
    throw new UppError('iin.invalid_format', 422, 'an IIN is exactly 12 digits', {
      value: shown(input),
    });
  }
  if (!hasValidCheckDigit(input)) {
    throw new UppError('iin.invalid_check_digit', 422, `IIN ${input} has a wrong check digit`, {
      value: input,
    });
  }
  const century = IIN_CENTURY_DIGITS[input.charAt(6)];
  if (century === undefined) {
    throw new UppError('iin.invalid_format', 422, `IIN ${input}: digit 7 must be 1-6`, {
      value: input,
    });
  }
  const year = century.century + Number(input.slice(0, 2));
  const birthDate = `${year}-${input.slice(2, 4)}-${input.slice(4, 6)}`;
  if (!isCalendarDate(birthDate)) {
    throw new UppError('iin.invalid_date', 422, `IIN ${input}: ${birthDate} is not a date`, {
      value: input,
    });
  }
  return { iin: input, birthDate, sex: century.sex, century: century.century };
}

function isCalendarDate(date: string): boolean {
  const [year, month, day] = date.split('-').map((part) => Number(part));
  if (year === undefined || month === undefined || day === undefined) return false;
  const utc = new Date(Date.UTC(year, month - 1, day));
  return (
    utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day
  );
}

export function isValidIin(input: string): boolean {
  try {
    parseIin(input);
    return true;
  } catch {
    return false;
  }
}

export type BinKind = 'resident_legal_entity' | 'non_resident' | 'individual_entrepreneur_joint';
export type BinUnit = 'head' | 'branch' | 'representative_office' | 'peasant_farm';

/** Digit 5 of a BIN. */
export const BIN_KINDS: Readonly<Record<string, BinKind>> = {
  '4': 'resident_legal_entity',
  '5': 'non_resident',
  '6': 'individual_entrepreneur_joint',
};

/** Digit 6 of a BIN. */
export const BIN_UNITS: Readonly<Record<string, BinUnit>> = {
  '0': 'head',
  '1': 'branch',
  '2': 'representative_office',
  '3': 'peasant_farm',
};

export interface Bin {
  bin: string;
  /** YYYY-MM; a two-digit year 90-99 is read as 19xx, 00-89 as 20xx. */
  registeredYearMonth: string;
  kind: BinKind;
  unit: BinUnit;
}

/** BINs date from the 1990s on: two-digit years from here are read as 19xx. */
const BIN_CENTURY_PIVOT = 90;

/** Reads a BIN: format, check digit, then registration month, kind and unit from digits 1-6. */
export function parseBin(input: string): Bin {
  if (typeof input !== 'string' || !TWELVE_DIGITS.test(input)) {
    throw new UppError('bin.invalid_format', 422, 'a BIN is exactly 12 digits', {
      value: shown(input),
    });
  }
  if (!hasValidCheckDigit(input)) {
    throw new UppError('bin.invalid_check_digit', 422, `BIN ${input} has a wrong check digit`, {
      value: input,
    });
  }
  const yy = Number(input.slice(0, 2));
  const month = Number(input.slice(2, 4));
  const kind = BIN_KINDS[input.charAt(4)];
  const unit = BIN_UNITS[input.charAt(5)];
  if (month < 1 || month > 12 || kind === undefined || unit === undefined) {
    throw new UppError(
      'bin.invalid_format',
      422,
      `BIN ${input}: digits 3-4 must be a month, digit 5 one of 4-6, digit 6 one of 0-3`,
      { value: input },
    );
  }
  const year = (yy >= BIN_CENTURY_PIVOT ? 1900 : 2000) + yy;
  return { bin: input, registeredYearMonth: `${year}-${input.slice(2, 4)}`, kind, unit };
}

export function isValidBin(input: string): boolean {
  try {
    parseBin(input);
    return true;
  } catch {
    return false;
  }
}
