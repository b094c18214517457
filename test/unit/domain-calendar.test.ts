// Working days in Astana time: holidays, weekends, days moved by Labour Code art. 85 and by
// order of the Ministry of Labour, deadlines counted in working days, unknown years refused.
// Expected days off are the ones announced for each year (press reports of the official calendar).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UppError } from '../../src/domain/errors.js';
import {
  BUNDLED_CALENDAR_YEARS,
  WorkingCalendar,
  parseCalendarYear,
  workingCalendar,
} from '../../src/domain/calendar.js';
import type { CalendarYear } from '../../src/domain/calendar.js';
import { addCalendarDays, dayOfWeek } from '../../src/domain/time.js';

const calendar = workingCalendar();

function refusal(code: string) {
  return (error: unknown) => {
    assert.ok(error instanceof UppError, `expected UppError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.status, 500);
    return true;
  };
}

function daysOf(year: number): string[] {
  const days: string[] = [];
  for (let date = `${year}-01-01`; date.startsWith(`${year}-`); date = addCalendarDays(date, 1)) {
    days.push(date);
  }
  return days;
}

const FIXED_HOLIDAYS = [
  '01-01',
  '01-02',
  '01-07',
  '03-08',
  '03-21',
  '03-22',
  '03-23',
  '05-01',
  '05-07',
  '05-09',
  '07-06',
  '08-30',
  '10-25',
  '12-16',
];
const KURBAN_AIT = {
  2024: '2024-06-16',
  2025: '2025-06-06',
  2026: '2026-05-27',
  2027: '2027-05-16',
};

test('the bundled files cover 2024-2027 and each names its source', () => {
  assert.deepEqual(calendar.years, [2024, 2025, 2026, 2027]);
  for (const year of BUNDLED_CALENDAR_YEARS) assert.ok((year.source ?? '').length > 20);
});

test('every public holiday of DOMAIN section 4 is listed and is not a working day', () => {
  for (const [year, kurban] of Object.entries(KURBAN_AIT)) {
    const file = BUNDLED_CALENDAR_YEARS.find((entry) => entry.year === Number(year));
    const listed = new Set(file?.holidays.map((holiday) => holiday.date));
    for (const date of [...FIXED_HOLIDAYS.map((day) => `${year}-${day}`), kurban]) {
      assert.ok(listed.has(date), `${date} listed`);
      assert.equal(calendar.isWorkingDay(date), false, date);
      assert.equal(calendar.describe(date).kind, 'holiday');
    }
    assert.equal(listed.size, FIXED_HOLIDAYS.length + 1);
  }
});

test('every holiday in every file is a day off', () => {
  for (const year of BUNDLED_CALENDAR_YEARS) {
    for (const holiday of year.holidays) assert.equal(calendar.isWorkingDay(holiday.date), false);
  }
});

test('weekends are days off unless ordered to be working days', () => {
  const ordered = new Set(
    BUNDLED_CALENDAR_YEARS.flatMap((year) => year.workingDays.map((day) => day.date)),
  );
  for (const year of calendar.years) {
    for (const date of daysOf(year)) {
      const weekday = dayOfWeek(date);
      if (weekday !== 0 && weekday !== 6) continue;
      assert.equal(calendar.isWorkingDay(date), ordered.has(date), date);
    }
  }
});

test('days moved by order of the Ministry of Labour (2024, 2025)', () => {
  assert.equal(calendar.isWorkingDay('2024-05-04'), true, 'Saturday 2024-05-04 worked');
  assert.equal(calendar.isWorkingDay('2024-05-08'), false);
  assert.equal(calendar.describe('2024-05-08').kind, 'day_off');
  assert.equal(calendar.isWorkingDay('2025-01-05'), true, 'Sunday 2025-01-05 worked');
  assert.equal(calendar.isWorkingDay('2025-01-03'), false);
  assert.equal(calendar.isWorkingDay('2025-05-08'), true, 'no bridge day in May 2025');
});

test('a holiday on a weekend gives the next working day off (Labour Code art. 85)', () => {
  const moved = [
    '2024-03-25',
    '2024-07-08',
    '2025-03-10',
    '2025-03-24',
    '2025-03-25',
    '2025-07-07',
    '2025-09-01',
    '2025-10-27',
    '2026-03-09',
    '2026-03-24',
    '2026-03-25',
    '2026-05-11',
    '2026-08-31',
    '2026-10-26',
    '2027-01-04',
    '2027-03-24',
    '2027-05-03',
    '2027-05-10',
  ];
  for (const date of moved) {
    assert.equal(calendar.describe(date).kind, 'moved_day_off', date);
    assert.equal(calendar.isWorkingDay(date), false, date);
  }
  assert.equal(calendar.isWorkingDay('2026-03-26'), true, 'Nauryz 2026 ends on the 25th');
});

test('religious holidays on a weekend move nothing (Christmas, Kurban Ait)', () => {
  assert.equal(dayOfWeek('2024-01-07'), 0);
  assert.equal(calendar.isWorkingDay('2024-01-08'), true);
  assert.equal(dayOfWeek('2024-06-16'), 0);
  assert.equal(calendar.isWorkingDay('2024-06-17'), true);
  assert.equal(dayOfWeek('2027-05-16'), 0);
  assert.equal(calendar.isWorkingDay('2027-05-17'), true);
});

test('2026 has 246 working days in a five-day week, as in the official calendar', () => {
  assert.equal(daysOf(2026).filter((date) => calendar.isWorkingDay(date)).length, 246);
});

test('adding working days across New Year and Orthodox Christmas', () => {
  assert.equal(calendar.addWorkingDays('2025-12-30', 0), '2025-12-30');
  assert.equal(calendar.addWorkingDays('2025-12-30', 1), '2025-12-31');
  assert.equal(calendar.addWorkingDays('2025-12-30', 2), '2026-01-05');
  assert.equal(calendar.addWorkingDays('2025-12-30', 3), '2026-01-06');
  assert.equal(calendar.addWorkingDays('2025-12-30', 4), '2026-01-08');
  assert.equal(calendar.addWorkingDays('2024-12-31', 1), '2025-01-05', 'the worked Sunday counts');
});

test('adding working days across Nauryz', () => {
  assert.equal(calendar.addWorkingDays('2026-03-20', 1), '2026-03-26');
  assert.equal(calendar.addWorkingDays('2025-03-20', 1), '2025-03-26');
  assert.equal(calendar.addWorkingDays('2024-03-20', 1), '2024-03-26');
  assert.equal(calendar.addWorkingDays('2026-03-18', 5), '2026-03-30');
});

test('the N-th working day after a date: N working days follow it, the last on the result', () => {
  const dates = fc
    .integer({ min: 0, max: 4 * 365 - 40 })
    .map((offset) => addCalendarDays('2024-01-01', offset));
  fc.assert(
    fc.property(dates, fc.integer({ min: 1, max: 25 }), (date, n) => {
      const result = calendar.addWorkingDays(date, n);
      assert.ok(result > date);
      assert.equal(calendar.isWorkingDay(result), true);
      let working = 0;
      for (let day = addCalendarDays(date, 1); day <= result; day = addCalendarDays(day, 1)) {
        if (calendar.isWorkingDay(day)) working += 1;
      }
      assert.equal(working, n);
      assert.ok(calendar.addWorkingDays(date, n + 1) > result);
    }),
    { numRuns: 300 },
  );
});

test('a working day ends at 19:00Z since 2024-03-01 (midnight at +05:00)', () => {
  const dates = fc
    .integer({ min: 0, max: 365 * 3 + 290 })
    .map((offset) => addCalendarDays('2024-03-01', offset));
  fc.assert(
    fc.property(dates, (date) => {
      assert.equal(calendar.endOfWorkingDay(date).toISOString(), `${date}T19:00:00.000Z`);
    }),
    { numRuns: 300 },
  );
  assert.equal(calendar.endOfWorkingDay('2026-03-02').toISOString(), '2026-03-02T19:00:00.000Z');
});

test('before the change a day ended at 18:00Z; 2024-02-29 lasted 25 hours', () => {
  assert.equal(calendar.endOfWorkingDay('2024-01-03').toISOString(), '2024-01-03T18:00:00.000Z');
  assert.equal(calendar.endOfWorkingDay('2024-02-28').toISOString(), '2024-02-28T18:00:00.000Z');
  assert.equal(calendar.endOfWorkingDay('2024-02-29').toISOString(), '2024-02-29T19:00:00.000Z');
});

test('the end of the N-th working day is counted from the Astana date of the instant', () => {
  const tuesdayMorning = new Date('2026-03-02T20:00:00Z');
  assert.equal(
    calendar.endOfNthWorkingDay(tuesdayMorning, 1).toISOString(),
    '2026-03-04T19:00:00.000Z',
  );
  const mondayEvening = new Date('2026-03-02T18:59:59Z');
  assert.equal(
    calendar.endOfNthWorkingDay(mondayEvening, 1).toISOString(),
    '2026-03-03T19:00:00.000Z',
  );
  const beforeNauryz = new Date('2026-03-18T05:00:00Z');
  assert.equal(
    calendar.endOfNthWorkingDay(beforeNauryz, 5).toISOString(),
    '2026-03-30T19:00:00.000Z',
  );
  assert.equal(
    calendar.endOfNthWorkingDay(beforeNauryz, 0).toISOString(),
    '2026-03-18T19:00:00.000Z',
  );
});

test('dates outside the covered years are refused, not guessed', () => {
  assert.throws(() => calendar.isWorkingDay('2023-12-29'), refusal('calendar.year_unknown'));
  assert.throws(() => calendar.isWorkingDay('2028-01-03'), refusal('calendar.year_unknown'));
  assert.throws(() => calendar.addWorkingDays('2027-12-28', 5), refusal('calendar.year_unknown'));
  assert.throws(() => calendar.endOfWorkingDay('2030-06-03'), refusal('calendar.year_unknown'));
  assert.throws(
    () => calendar.endOfNthWorkingDay(new Date('2023-06-01T00:00:00Z'), 1),
    refusal('calendar.year_unknown'),
  );
});

test('a bad count of working days is refused', () => {
  for (const n of [-1, 1.5, Number.NaN, 1e9]) {
    assert.throws(() => calendar.addWorkingDays('2026-03-02', n), refusal('calendar.invalid_days'));
  }
});

function year2028(changes: Partial<CalendarYear> = {}): CalendarYear {
  return {
    year: 2028,
    source: 'test file',
    holidays: [{ date: '2028-01-01', name: 'New Year' }],
    daysOff: [],
    workingDays: [],
    ...changes,
  };
}

test('an operator can add a year and correct a bundled one without code changes', () => {
  const corrected = {
    ...BUNDLED_CALENDAR_YEARS.find((year) => year.year === 2027),
    daysOff: [{ date: '2027-05-11', reason: 'moved from Saturday 2027-05-15' }],
    workingDays: [{ date: '2027-05-15', reason: 'worked Saturday' }],
  };
  const extended = workingCalendar([year2028(), corrected]);
  assert.deepEqual(extended.years, [2024, 2025, 2026, 2027, 2028]);
  assert.equal(extended.isWorkingDay('2028-01-03'), false, '2028-01-01 is a Saturday');
  assert.equal(extended.isWorkingDay('2027-05-11'), false);
  assert.equal(extended.isWorkingDay('2027-05-15'), true);
  assert.equal(calendar.isWorkingDay('2027-05-11'), true, 'the bundled calendar is unchanged');
  assert.equal(extended.addWorkingDays('2027-12-30', 2), '2028-01-04');
});

test('malformed calendar files are refused with calendar.invalid_file', () => {
  const bad: unknown[] = [
    null,
    [],
    { ...year2028(), year: '2028' },
    { ...year2028(), year: 1990 },
    year2028({ holidays: [{ date: '2027-12-31', name: 'outside the year' }] }),
    year2028({ holidays: [{ date: '2028-02-30', name: 'no such day' }] }),
    year2028({ holidays: [{ date: '2028-01-01', name: '' }] }),
    year2028({
      holidays: [{ date: '2028-01-01', name: 'x', religious: 'yes' as unknown as boolean }],
    }),
    year2028({ daysOff: [{ date: '2028-1-3', reason: 'bad date' }] }),
    { ...year2028(), workingDays: 'none' },
    year2028({ workingDays: [{ date: '2028-01-01', reason: 'clashes with a holiday' }] }),
  ];
  for (const input of bad) {
    assert.throws(
      () => parseCalendarYear(input),
      refusal('calendar.invalid_file'),
      JSON.stringify(input),
    );
  }
  assert.throws(
    () => new WorkingCalendar([year2028(), year2028()]),
    refusal('calendar.invalid_file'),
  );
});

test('a calendar built with an injected offset ends days by that offset', () => {
  const sixHours = new WorkingCalendar(BUNDLED_CALENDAR_YEARS, { offsetAt: () => 360 });
  assert.equal(sixHours.endOfWorkingDay('2026-03-02').toISOString(), '2026-03-02T18:00:00.000Z');
});
