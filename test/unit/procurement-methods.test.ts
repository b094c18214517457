// The method table and the schedules it gives: pure functions of the table, the working-day
// calendar and the instant of publication.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workingCalendar } from '../../src/domain/calendar.js';
import {
  PROCUREMENT_METHODS,
  PROCUREMENT_STATUSES,
  methodOf,
  nextStatus,
} from '../../src/domain/procurement-methods.js';
import {
  extendForAmendment,
  extendForOutage,
  lengthenDeadline,
  minimumSchedule,
  nextCheck,
  scheduleAtPublication,
} from '../../src/domain/procurement-schedule.js';
import { UppError } from '../../src/domain/errors.js';

const calendar = workingCalendar();
const tender = methodOf('public', 'tender')!;
const HOUR = 3_600_000;

test('every transition of every method joins known statuses, and drafts only publish', () => {
  for (const method of PROCUREMENT_METHODS) {
    for (const transition of method.transitions) {
      assert.ok(
        PROCUREMENT_STATUSES.includes(transition.from),
        `${method.code} ${transition.from}`,
      );
      assert.ok(PROCUREMENT_STATUSES.includes(transition.to), `${method.code} ${transition.to}`);
    }
    const fromDraft = method.transitions.filter((transition) => transition.from === 'draft');
    assert.deepEqual(
      fromDraft.map((transition) => transition.on),
      [{ action: 'publish' }],
    );
  }
});

test('the rules: security 1% for tenders and auctions, 3% for price requests and turnkey', () => {
  assert.equal(methodOf('public', 'tender')!.securityBasisPoints, 100);
  assert.equal(methodOf('public', 'auction')!.securityBasisPoints, 100);
  assert.equal(methodOf('public', 'price_request')!.securityBasisPoints, 300);
  assert.equal(methodOf('public', 'turnkey_tender')!.securityBasisPoints, 300);
  assert.equal(methodOf('public', 'price_request')!.maxMrp, 8000);
  assert.equal(methodOf('quasi_public', 'turnkey_tender'), undefined, 'not a quasi-public method');
});

test('a tender published on Monday 2 March 2026 at 09:00 Astana', () => {
  const publishedAt = new Date('2026-03-02T04:00:00Z');
  const schedule = minimumSchedule(calendar, tender, publishedAt);
  // Two working days: 3 and 4 March; the discussion ends when 4 March ends in Astana.
  assert.equal(schedule.discussionEndsAt!.toISOString(), '2026-03-04T19:00:00.000Z');
  // Five working days skip 8 March (a Sunday holiday, moved to Monday 9 March).
  const days = [3, 4, 5, 6, 9, 10].map((day) => `2026-03-${String(day).padStart(2, '0')}`);
  const working = days.filter((day) => calendar.isWorkingDay(day));
  assert.equal(
    schedule.offersEndAt.toISOString(),
    calendar.endOfWorkingDay(working[4]!).toISOString(),
  );
  assert.ok(schedule.reviewEndsAt > schedule.offersEndAt);
});

test('a price request accepts offers for two calendar days', () => {
  const publishedAt = new Date('2026-03-02T04:00:00Z');
  const method = methodOf('public', 'price_request')!;
  const schedule = minimumSchedule(calendar, method, publishedAt);
  assert.equal(schedule.discussionEndsAt, undefined);
  assert.equal(schedule.offersEndAt.getTime() - publishedAt.getTime(), 48 * HOUR);
});

test('dates can only be lengthened', () => {
  const publishedAt = new Date('2026-03-02T04:00:00Z');
  const minimum = minimumSchedule(calendar, tender, publishedAt);
  assert.throws(
    () =>
      scheduleAtPublication(calendar, tender, publishedAt, {
        offersEndAt: new Date(minimum.offersEndAt.getTime() - 1),
      }),
    (error: unknown) =>
      error instanceof UppError && error.code === 'procurement.deadline_too_short',
  );
  assert.throws(
    () => lengthenDeadline(calendar, tender, minimum, minimum.offersEndAt),
    (error: unknown) =>
      error instanceof UppError && error.code === 'procurement.deadline_shortened',
  );
  const later = new Date(minimum.offersEndAt.getTime() + 24 * HOUR);
  assert.equal(lengthenDeadline(calendar, tender, minimum, later).offersEndAt, later);
});

test('an amendment never shortens, and restarts the acceptance period from itself', () => {
  const publishedAt = new Date('2026-03-02T04:00:00Z');
  const minimum = minimumSchedule(calendar, tender, publishedAt);
  const early = extendForAmendment(calendar, tender, minimum, publishedAt);
  assert.deepEqual(early, minimum, 'amended at once: the same minimum');
  const late = new Date(minimum.offersEndAt.getTime() - HOUR);
  const extended = extendForAmendment(calendar, tender, minimum, late);
  assert.equal(
    extended.offersEndAt.toISOString(),
    minimumSchedule(calendar, tender, late).offersEndAt.toISOString(),
  );
});

test('an outage moves the deadline by its length; the next check follows the status', () => {
  const publishedAt = new Date('2026-03-02T04:00:00Z');
  const minimum = minimumSchedule(calendar, tender, publishedAt);
  const extended = extendForOutage(calendar, tender, minimum, 2 * HOUR);
  assert.equal(extended.offersEndAt.getTime() - minimum.offersEndAt.getTime(), 2 * HOUR);
  assert.deepEqual(nextCheck(tender, 'published', minimum), {
    at: minimum.discussionEndsAt,
    mark: 'discussionEndsAt',
  });
  assert.deepEqual(nextCheck(tender, 'accepting', minimum), {
    at: minimum.offersEndAt,
    mark: 'offersEndAt',
  });
  assert.equal(nextCheck(tender, 'cancelled', minimum), undefined);
  assert.equal(nextStatus(tender, 'review', { action: 'reopen' }), 'accepting');
  assert.equal(nextStatus(tender, 'results', { action: 'cancel' }), undefined);
});
