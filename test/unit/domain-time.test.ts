// Astana time: UTC+6 until Kazakhstan's move to UTC+5 on 2024-03-01 00:00 (clocks went back to
// 2024-02-29 23:00), conversions both ways, the start-up check of the zone data, test clocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  ASTANA_ZONE,
  addCalendarDays,
  astanaInstant,
  astanaLocalDate,
  astanaOffset,
  astanaOffsetMinutes,
  checkTimeZoneData,
  dayOfWeek,
  fixedClock,
  formatOffset,
  startOfAstanaDay,
  systemClock,
  toAstanaIso,
} from '../../src/domain/time.js';

const CHANGE = Date.parse('2024-02-29T18:00:00Z');

function refusal(code: string, status: number) {
  return (error: unknown) => {
    assert.ok(error instanceof UppError, `expected UppError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    return true;
  };
}

test('the zone is Asia/Almaty, which the runtime knows', () => {
  assert.equal(ASTANA_ZONE, 'Asia/Almaty');
  assert.doesNotThrow(() => new Intl.DateTimeFormat('en', { timeZone: ASTANA_ZONE }));
});

test('offset is +06:00 before 2024-03-01 and +05:00 from then on', () => {
  assert.equal(astanaOffset(new Date('2023-07-01T00:00:00Z')), '+06:00');
  assert.equal(astanaOffset(new Date(CHANGE - 1)), '+06:00');
  assert.equal(astanaOffset(new Date(CHANGE)), '+05:00');
  assert.equal(astanaOffset(new Date('2026-12-03T12:00:00Z')), '+05:00');
  assert.equal(astanaOffsetMinutes(new Date('2025-01-15T00:00:00Z')), 300);
});

test('offsets are formatted as ±HH:MM', () => {
  assert.equal(formatOffset(300), '+05:00');
  assert.equal(formatOffset(0), '+00:00');
  assert.equal(formatOffset(-210), '-03:30');
  assert.equal(formatOffset(345), '+05:45');
});

test('an instant is shown in Astana time with its offset', () => {
  assert.equal(toAstanaIso(new Date('2026-03-02T09:00:00Z')), '2026-03-02T14:00:00.000+05:00');
  assert.equal(toAstanaIso(new Date('2026-12-31T19:00:00Z')), '2027-01-01T00:00:00.000+05:00');
  assert.equal(toAstanaIso(new Date(CHANGE - 1)), '2024-02-29T23:59:59.999+06:00');
  assert.equal(toAstanaIso(new Date(CHANGE)), '2024-02-29T23:00:00.000+05:00');
  assert.equal(toAstanaIso(new Date('2023-12-31T18:00:00Z')), '2024-01-01T00:00:00.000+06:00');
});

test('the Astana date of an instant turns at 19:00Z since the change and 18:00Z before', () => {
  assert.equal(astanaLocalDate(new Date('2026-03-02T18:59:59.999Z')), '2026-03-02');
  assert.equal(astanaLocalDate(new Date('2026-03-02T19:00:00Z')), '2026-03-03');
  assert.equal(astanaLocalDate(new Date('2023-10-10T17:59:59.999Z')), '2023-10-10');
  assert.equal(astanaLocalDate(new Date('2023-10-10T18:00:00Z')), '2023-10-11');
  assert.equal(astanaLocalDate(new Date(CHANGE)), '2024-02-29');
  assert.equal(astanaLocalDate(new Date('2024-02-29T19:00:00Z')), '2024-03-01');
});

test('a local date-time maps to its instant on both sides of the change', () => {
  assert.equal(astanaInstant('2026-03-02', '14:00').toISOString(), '2026-03-02T09:00:00.000Z');
  assert.equal(astanaInstant('2024-02-28', '00:00').toISOString(), '2024-02-27T18:00:00.000Z');
  assert.equal(astanaInstant('2024-03-01', '00:00').toISOString(), '2024-02-29T19:00:00.000Z');
  assert.equal(
    astanaInstant('2024-02-29', '22:59:59.999').toISOString(),
    '2024-02-29T16:59:59.999Z',
  );
  assert.equal(startOfAstanaDay('2026-01-01').toISOString(), '2025-12-31T19:00:00.000Z');
});

test('a wall time that occurred twice on 2024-02-29 gives the earlier instant', () => {
  assert.equal(astanaInstant('2024-02-29', '23:00').toISOString(), '2024-02-29T17:00:00.000Z');
  assert.equal(astanaInstant('2024-02-29', '23:30').toISOString(), '2024-02-29T17:30:00.000Z');
});

test('a wall time skipped by a forward change maps as if the old offset still held', () => {
  const jump = Date.parse('2030-01-01T00:00:00Z');
  const forward = (instant: Date) => (instant.getTime() < jump ? 300 : 360);
  const instant = astanaInstant('2030-01-01', '05:30', forward);
  assert.equal(instant.toISOString(), '2030-01-01T00:30:00.000Z');
  assert.equal(toAstanaIso(instant, forward), '2030-01-01T06:30:00.000+06:00');
});

test('instant -> Astana wall time -> instant is the identity outside the repeated hour', () => {
  const instants = fc.integer({
    min: Date.parse('2015-01-01T00:00:00Z'),
    max: Date.parse('2035-12-31T00:00:00Z'),
  });
  const nearChange = fc.integer({ min: CHANGE - 3 * 3_600_000, max: CHANGE + 3 * 3_600_000 });
  fc.assert(
    fc.property(fc.oneof(instants, nearChange), (ms) => {
      const iso = toAstanaIso(new Date(ms));
      const back = astanaInstant(iso.slice(0, 10), iso.slice(11, 23)).getTime();
      const repeated = ms >= CHANGE && ms < CHANGE + 3_600_000;
      assert.equal(back, repeated ? ms - 3_600_000 : ms, iso);
      assert.equal(new Date(iso).getTime(), ms, 'the offset written matches the instant');
    }),
    { numRuns: 2000 },
  );
});

test('bad local dates and times are refused', () => {
  for (const date of ['2025-02-29', '2025-13-01', '2025-1-01', '25-01-01', '', '2025-01-01T00']) {
    assert.throws(() => astanaInstant(date), refusal('date.invalid', 422), date);
  }
  for (const time of ['24:00', '12:60', '12:00:60', '1:00', '12:00:00.1', 'noon']) {
    assert.throws(() => astanaInstant('2025-01-01', time), refusal('time.invalid', 422), time);
  }
});

test('calendar-day arithmetic crosses months, leap days and years', () => {
  assert.equal(addCalendarDays('2024-02-28', 1), '2024-02-29');
  assert.equal(addCalendarDays('2025-02-28', 1), '2025-03-01');
  assert.equal(addCalendarDays('2025-12-31', 1), '2026-01-01');
  assert.equal(addCalendarDays('2026-01-01', -1), '2025-12-31');
  assert.equal(dayOfWeek('2026-03-02'), 1);
  assert.equal(dayOfWeek('2025-01-05'), 0);
});

test('start-up check passes on this runtime: it knows Astana is UTC+5', () => {
  assert.equal(checkTimeZoneData(), '+05:00');
});

test('start-up check refuses time-zone data that still says +06:00', () => {
  assert.throws(
    () => checkTimeZoneData(() => 360),
    (error: unknown) => {
      assert.ok(refusal('config.timezone_data', 500)(error));
      assert.ok(error instanceof UppError);
      assert.match(error.message, /\+06:00/);
      assert.equal(error.details?.offset, '+06:00');
      return true;
    },
  );
  assert.throws(() => checkTimeZoneData(() => 0), refusal('config.timezone_data', 500));
});

test('the start-up check asks about a moment after 2024-03-01', () => {
  const asked: Date[] = [];
  checkTimeZoneData((instant) => {
    asked.push(instant);
    return 300;
  });
  assert.equal(asked.length, 1);
  assert.ok((asked[0]?.getTime() ?? 0) > Date.parse('2024-03-01T00:00:00Z'));
});

test('a fixed clock stands still until set or advanced', () => {
  const clock = fixedClock('2026-03-02T09:00:00Z');
  assert.equal(clock.now().toISOString(), '2026-03-02T09:00:00.000Z');
  assert.equal(clock.now().toISOString(), '2026-03-02T09:00:00.000Z');
  clock.advance(90_000);
  assert.equal(clock.now().toISOString(), '2026-03-02T09:01:30.000Z');
  clock.set(new Date('2027-01-01T00:00:00Z'));
  assert.equal(clock.now().toISOString(), '2027-01-01T00:00:00.000Z');
  clock.now().setTime(0);
  assert.equal(clock.now().toISOString(), '2027-01-01T00:00:00.000Z', 'callers get copies');
  assert.throws(() => fixedClock('not a time'), RangeError);
  assert.throws(() => clock.advance(Number.NaN), RangeError);
});

test('a fixed clock built from a Date is not moved by changes to that Date', () => {
  const start = new Date('2026-03-02T09:00:00Z');
  const clock = fixedClock(start);
  start.setTime(0);
  assert.equal(clock.now().toISOString(), '2026-03-02T09:00:00.000Z');
});

test('the system clock reads the machine time', () => {
  const before = Date.now();
  const read = systemClock.now().getTime();
  assert.ok(read >= before && read <= Date.now());
});
