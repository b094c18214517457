// Astana time: the clock the platform reads, and conversions between instants and Astana local
// dates and times. Offsets come from the runtime's time-zone data, checked at start-up.
import { UppError } from './errors.js';

export interface Clock {
  now(): Date;
}

export interface SettableClock extends Clock {
  set(instant: Date | string): void;
  advance(ms: number): void;
}

export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock for tests and replays: it stands still until it is set or advanced. */
export function fixedClock(start: Date | string): SettableClock {
  let current = toInstant(start).getTime();
  return {
    now: () => new Date(current),
    set: (instant) => {
      current = toInstant(instant).getTime();
    },
    advance: (ms) => {
      if (!Number.isFinite(ms)) throw new RangeError('advance needs a finite number of ms');
      current += ms;
    },
  };
}

function toInstant(value: Date | string): Date {
  const instant = typeof value === 'string' ? new Date(value) : new Date(value.getTime());
  if (Number.isNaN(instant.getTime())) throw new RangeError(`not an instant: ${String(value)}`);
  return instant;
}

/** Kazakhstan's single zone; the IANA database has no Asia/Astana. */
export const ASTANA_ZONE = 'Asia/Almaty';

/** The offset Astana must have after the move to UTC+5 on 2024-03-01. */
export const ASTANA_OFFSET_AFTER_2024_MINUTES = 300;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Gives the UTC offset of a zone at an instant, in minutes east of UTC. */
export type OffsetAt = (instant: Date) => number;

const offsetFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: ASTANA_ZONE,
  timeZoneName: 'longOffset',
});

/** The runtime's own answer for Astana's offset at an instant (e.g. 300 for +05:00). */
export const astanaOffsetMinutes: OffsetAt = (instant) => {
  const name = offsetFormat.formatToParts(instant).find((part) => part.type === 'timeZoneName');
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name?.value ?? '');
  if (match === null) {
    throw new UppError('config.timezone_data', 500, `unreadable offset for ${ASTANA_ZONE}`, {
      offset: name?.value,
    });
  }
  if (match[1] === undefined) return 0;
  const minutes = Number.parseInt(match[2] ?? '', 10) * 60 + Number.parseInt(match[3] ?? '', 10);
  return match[1] === '-' ? -minutes : minutes;
};

/** Formats an offset in minutes as ±HH:MM. */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const magnitude = Math.abs(minutes);
  return `${sign}${pad(Math.floor(magnitude / 60), 2)}:${pad(magnitude % 60, 2)}`;
}

/** Astana's UTC offset at an instant as ±HH:MM. */
export function astanaOffset(instant: Date, offsetAt: OffsetAt = astanaOffsetMinutes): string {
  return formatOffset(offsetAt(instant));
}

/** An instant written in Astana time with its offset: 2026-03-02T14:00:00.000+05:00. */
export function toAstanaIso(instant: Date, offsetAt: OffsetAt = astanaOffsetMinutes): string {
  const offset = offsetAt(instant);
  const wall = new Date(instant.getTime() + offset * MINUTE_MS).toISOString();
  return `${wall.slice(0, 23)}${formatOffset(offset)}`;
}

/** The Astana calendar date (YYYY-MM-DD) on which an instant falls. */
export function astanaLocalDate(instant: Date, offsetAt: OffsetAt = astanaOffsetMinutes): string {
  return new Date(instant.getTime() + offsetAt(instant) * MINUTE_MS).toISOString().slice(0, 10);
}

const LOCAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{3}))?)?$/;

/** Checks a YYYY-MM-DD date exists in the calendar and returns its UTC midnight in ms. */
export function localDateToEpochDay(localDate: string): number {
  const match = LOCAL_DATE.exec(localDate);
  if (match !== null) {
    const [year, month, day] = [match[1], match[2], match[3]].map((part) => Number(part ?? ''));
    const ms = Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0);
    if (new Date(ms).toISOString().slice(0, 10) === localDate) return ms;
  }
  throw new UppError('date.invalid', 422, `not a calendar date (YYYY-MM-DD): ${localDate}`, {
    value: localDate,
  });
}

/** The date a number of calendar days after (or before) a YYYY-MM-DD date. */
export function addCalendarDays(localDate: string, days: number): string {
  return new Date(localDateToEpochDay(localDate) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Day of the week of a YYYY-MM-DD date: 0 Sunday .. 6 Saturday. */
export function dayOfWeek(localDate: string): number {
  return new Date(localDateToEpochDay(localDate)).getUTCDay();
}

function localTimeToMs(localTime: string): number {
  const match = LOCAL_TIME.exec(localTime);
  if (match !== null) {
    const [hours, minutes, seconds, millis] = [match[1], match[2], match[3], match[4]].map((part) =>
      Number(part ?? '0'),
    );
    if (hours !== undefined && minutes !== undefined && seconds !== undefined) {
      if (hours <= 23 && minutes <= 59 && seconds <= 59) {
        return ((hours * 60 + minutes) * 60 + seconds) * 1000 + (millis ?? 0);
      }
    }
  }
  throw new UppError('time.invalid', 422, `not a time of day (HH:MM[:SS[.mmm]]): ${localTime}`, {
    value: localTime,
  });
}

/**
 * The instant at which Astana clocks show a local date and time. When the clocks went back
 * (2024-03-01 00:00 +06:00 became 2024-02-29 23:00 +05:00) a wall time occurs twice and the
 * earlier instant is taken; a wall time skipped by a forward change maps as if the old offset held.
 */
export function astanaInstant(
  localDate: string,
  localTime = '00:00',
  offsetAt: OffsetAt = astanaOffsetMinutes,
): Date {
  const wall = localDateToEpochDay(localDate) + localTimeToMs(localTime);
  const offsets = [offsetAt(new Date(wall - DAY_MS)), offsetAt(new Date(wall + DAY_MS))];
  const consistent = offsets
    .map((offset) => wall - offset * MINUTE_MS)
    .filter((ms) => wall - offsetAt(new Date(ms)) * MINUTE_MS === ms)
    .sort((a, b) => a - b);
  return new Date(consistent[0] ?? wall - (offsets[0] ?? 0) * MINUTE_MS);
}

/** The instant Astana's local day starts (00:00 Astana time). */
export function startOfAstanaDay(
  localDate: string,
  offsetAt: OffsetAt = astanaOffsetMinutes,
): Date {
  return astanaInstant(localDate, '00:00', offsetAt);
}

/** A moment well after the 2024-03-01 change, at which the zone data must say +05:00. */
export const TIME_ZONE_PROBE = new Date('2024-06-01T00:00:00Z');

/**
 * Refuses to go on with time-zone data that predates Kazakhstan's move to UTC+5: such a runtime
 * would stamp every document an hour late. Returns the offset found when it is right.
 */
export function checkTimeZoneData(offsetAt: OffsetAt = astanaOffsetMinutes): string {
  const found = offsetAt(TIME_ZONE_PROBE);
  if (found !== ASTANA_OFFSET_AFTER_2024_MINUTES) {
    throw new UppError(
      'config.timezone_data',
      500,
      `the runtime's time-zone data gives ${formatOffset(found)} for ${ASTANA_ZONE} on ` +
        `${TIME_ZONE_PROBE.toISOString()}; Astana is UTC+05:00 since 2024-03-01. ` +
        'Update Node.js or its ICU/tzdata before starting.',
      { zone: ASTANA_ZONE, probe: TIME_ZONE_PROBE.toISOString(), offset: formatOffset(found) },
    );
  }
  return formatOffset(found);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
