// Working days in Astana time, read from per-year calendar files an operator can add or correct.
// Deadlines counted in working days end at the close of the N-th working day, Astana time.
import { UppError } from './errors.js';
import {
  addCalendarDays,
  astanaInstant,
  astanaLocalDate,
  astanaOffsetMinutes,
  dayOfWeek,
  localDateToEpochDay,
} from './time.js';
import type { OffsetAt } from './time.js';
import year2024 from './calendar/2024.json' with { type: 'json' };
import year2025 from './calendar/2025.json' with { type: 'json' };
import year2026 from './calendar/2026.json' with { type: 'json' };
import year2027 from './calendar/2027.json' with { type: 'json' };

export interface Holiday {
  date: string;
  name: string;
  /** Religious holidays (Kurban Ait, Orthodox Christmas) give no extra day off on a weekend. */
  religious?: boolean;
}

export interface DatedReason {
  date: string;
  reason: string;
}

/** One calendar file: a year's holidays and the days moved by order of the authorised body. */
export interface CalendarYear {
  year: number;
  source?: string;
  holidays: Holiday[];
  daysOff: DatedReason[];
  workingDays: DatedReason[];
}

export type DayKind = 'holiday' | 'day_off' | 'moved_day_off' | 'weekend' | 'working_day';

export interface DayDescription {
  date: string;
  working: boolean;
  kind: DayKind;
  reason: string;
}

const MAX_WORKING_DAYS = 3660;
const SATURDAY = 6;
const SUNDAY = 0;

function invalidFile(message: string, details?: Record<string, unknown>): UppError {
  return new UppError('calendar.invalid_file', 500, message, details);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dateInYear(value: unknown, year: number, where: string): string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw invalidFile(`calendar ${year}: ${where} needs a date YYYY-MM-DD`, { year, where });
  }
  try {
    localDateToEpochDay(value);
  } catch {
    throw invalidFile(`calendar ${year}: ${where} is not a calendar date: ${value}`, { year });
  }
  if (!value.startsWith(`${year}-`)) {
    throw invalidFile(`calendar ${year}: ${where} ${value} is outside the year`, { year });
  }
  return value;
}

function text(value: unknown, year: number, where: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 500) {
    throw invalidFile(`calendar ${year}: ${where} needs a text of 1-500 characters`, { year });
  }
  return value;
}

function list(value: unknown, year: number, field: string): unknown[] {
  if (!Array.isArray(value) || value.length > 400) {
    throw invalidFile(`calendar ${year}: ${field} must be a list (at most 400 entries)`, { year });
  }
  return value;
}

function datedReasons(value: unknown, year: number, field: string): DatedReason[] {
  return list(value, year, field).map((entry, index) => {
    const where = `${field}[${index}]`;
    if (!isRecord(entry)) throw invalidFile(`calendar ${year}: ${where} must be an object`);
    return {
      date: dateInYear(entry.date, year, `${where}.date`),
      reason: text(entry.reason, year, `${where}.reason`),
    };
  });
}

function holidays(value: unknown, year: number): Holiday[] {
  return list(value, year, 'holidays').map((entry, index) => {
    const where = `holidays[${index}]`;
    if (!isRecord(entry)) throw invalidFile(`calendar ${year}: ${where} must be an object`);
    if (entry.religious !== undefined && typeof entry.religious !== 'boolean') {
      throw invalidFile(`calendar ${year}: ${where}.religious must be true or false`, { year });
    }
    return {
      date: dateInYear(entry.date, year, `${where}.date`),
      name: text(entry.name, year, `${where}.name`),
      ...(entry.religious === true ? { religious: true } : {}),
    };
  });
}

/** Checks a calendar file's content (as parsed from JSON) and returns it typed. */
export function parseCalendarYear(input: unknown): CalendarYear {
  if (!isRecord(input)) throw invalidFile('a calendar file must hold one JSON object');
  const year = input.year;
  if (typeof year !== 'number' || !Number.isInteger(year) || year < 1991 || year > 2999) {
    throw invalidFile('a calendar file needs a year between 1991 and 2999', { year });
  }
  const parsed: CalendarYear = {
    year,
    ...(input.source === undefined ? {} : { source: text(input.source, year, 'source') }),
    holidays: holidays(input.holidays, year),
    daysOff: datedReasons(input.daysOff, year, 'daysOff'),
    workingDays: datedReasons(input.workingDays, year, 'workingDays'),
  };
  const offDates = new Set([...parsed.holidays, ...parsed.daysOff].map((entry) => entry.date));
  const clash = parsed.workingDays.find((entry) => offDates.has(entry.date));
  if (clash !== undefined) {
    throw invalidFile(`calendar ${year}: ${clash.date} is both a working day and a day off`, {
      year,
      date: clash.date,
    });
  }
  return parsed;
}

function isWeekend(localDate: string): boolean {
  const weekday = dayOfWeek(localDate);
  return weekday === SATURDAY || weekday === SUNDAY;
}

export interface WorkingCalendarOptions {
  offsetAt?: OffsetAt;
}

export class WorkingCalendar {
  readonly #years = new Set<number>();
  readonly #holidays = new Map<string, string>();
  readonly #daysOff = new Map<string, string>();
  readonly #movedDaysOff = new Map<string, string>();
  readonly #workingDays = new Map<string, string>();
  readonly #offsetAt: OffsetAt;

  constructor(years: readonly unknown[], options: WorkingCalendarOptions = {}) {
    this.#offsetAt = options.offsetAt ?? astanaOffsetMinutes;
    const parsed = years.map(parseCalendarYear);
    for (const year of parsed) this.#addYear(year);
    for (const year of parsed) this.#moveWeekendHolidays(year);
  }

  #addYear(year: CalendarYear): void {
    if (this.#years.has(year.year)) {
      throw invalidFile(`calendar ${year.year} was given twice`, { year: year.year });
    }
    this.#years.add(year.year);
    for (const holiday of year.holidays) this.#holidays.set(holiday.date, holiday.name);
    for (const day of year.daysOff) this.#daysOff.set(day.date, day.reason);
    for (const day of year.workingDays) this.#workingDays.set(day.date, day.reason);
  }

  /** Labour Code art. 85: a non-religious holiday on a weekend gives the next working day off. */
  #moveWeekendHolidays(year: CalendarYear): void {
    const movable = year.holidays
      .filter((holiday) => holiday.religious !== true && isWeekend(holiday.date))
      .sort((a, b) => a.date.localeCompare(b.date));
    for (const holiday of movable) {
      let date = addCalendarDays(holiday.date, 1);
      while (isWeekend(date) || this.#holidays.has(date) || this.#isOffByMove(date)) {
        date = addCalendarDays(date, 1);
      }
      this.#movedDaysOff.set(date, `${holiday.name} (${holiday.date}) fell on a weekend`);
    }
  }

  #isOffByMove(date: string): boolean {
    return this.#movedDaysOff.has(date) || this.#daysOff.has(date);
  }

  /** The years this calendar covers, ascending. */
  get years(): number[] {
    return [...this.#years].sort((a, b) => a - b);
  }

  #requireYear(localDate: string): void {
    localDateToEpochDay(localDate);
    const year = Number(localDate.slice(0, 4));
    if (!this.#years.has(year)) {
      throw new UppError(
        'calendar.year_unknown',
        500,
        `no working-day calendar for ${year} (date ${localDate}); add a calendar file for it`,
        { year, date: localDate, covered: this.years },
      );
    }
  }

  /** Why a date is or is not a working day. */
  describe(localDate: string): DayDescription {
    this.#requireYear(localDate);
    const holiday = this.#holidays.get(localDate);
    if (holiday !== undefined) return day(localDate, false, 'holiday', holiday);
    const dayOff = this.#daysOff.get(localDate);
    if (dayOff !== undefined) return day(localDate, false, 'day_off', dayOff);
    const moved = this.#movedDaysOff.get(localDate);
    if (moved !== undefined) return day(localDate, false, 'moved_day_off', moved);
    const working = this.#workingDays.get(localDate);
    if (working !== undefined) return day(localDate, true, 'working_day', working);
    if (isWeekend(localDate)) return day(localDate, false, 'weekend', 'weekend');
    return day(localDate, true, 'working_day', 'working day');
  }

  isWorkingDay(localDate: string): boolean {
    return this.describe(localDate).working;
  }

  /** The N-th working day after a date (N = 0 gives the date itself, working or not). */
  addWorkingDays(localDate: string, n: number): string {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_WORKING_DAYS) {
      throw new UppError('calendar.invalid_days', 500, `working days must be 0..3660, got ${n}`, {
        n,
      });
    }
    this.#requireYear(localDate);
    let date = localDate;
    for (let counted = 0; counted < n;) {
      date = addCalendarDays(date, 1);
      if (this.isWorkingDay(date)) counted += 1;
    }
    return date;
  }

  /** The end of an Astana day: the instant the next Astana day starts (an exclusive bound). */
  endOfWorkingDay(localDate: string): Date {
    this.#requireYear(localDate);
    return astanaInstant(addCalendarDays(localDate, 1), '00:00', this.#offsetAt);
  }

  /** The end of the N-th working day after the Astana day of an instant. */
  endOfNthWorkingDay(fromInstant: Date, n: number): Date {
    const start = astanaLocalDate(fromInstant, this.#offsetAt);
    return this.endOfWorkingDay(this.addWorkingDays(start, n));
  }
}

function day(date: string, working: boolean, kind: DayKind, reason: string): DayDescription {
  return { date, working, kind, reason };
}

/** The calendar files shipped with the code (2024-2027). */
export const BUNDLED_CALENDAR_YEARS: readonly CalendarYear[] = [
  year2024,
  year2025,
  year2026,
  year2027,
].map(parseCalendarYear);

/** A calendar of the bundled files plus any extra or corrected years an operator supplies. */
export function workingCalendar(
  extraYears: readonly unknown[] = [],
  options: WorkingCalendarOptions = {},
): WorkingCalendar {
  const extra = extraYears.map(parseCalendarYear);
  const replaced = new Set(extra.map((year) => year.year));
  const bundled = BUNDLED_CALENDAR_YEARS.filter((year) => !replaced.has(year.year));
  return new WorkingCalendar([...bundled, ...extra], options);
}
