// A procurement's schedule from the working-day rules: the earliest instants the method's table
// allows, lengthened (never shortened) by the organizer, by amendments and by declared outages.
import type { WorkingCalendar } from './calendar.js';
import { UppError } from './errors.js';
import { marksFrom } from './procurement-methods.js';
import type {
  Duration,
  ProcurementMethod,
  ProcurementStatus,
  ScheduleMark,
} from './procurement-methods.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface Schedule {
  publishedAt: Date;
  discussionEndsAt: Date | undefined;
  offersEndAt: Date;
  reviewEndsAt: Date;
}

/** Dates the organizer asks for; each may only be later than the rules' earliest. */
export interface RequestedDates {
  offersEndAt?: Date;
}

/** The instant `duration` after `from`: working days end with their Astana day. */
export function after(calendar: WorkingCalendar, from: Date, duration: Duration): Date {
  if (duration.unit === 'days') return new Date(from.getTime() + duration.n * DAY_MS);
  return calendar.endOfNthWorkingDay(from, duration.n);
}

function later(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}

/** Review starts at the deadline, so its end follows from the deadline. */
function reviewEnd(calendar: WorkingCalendar, method: ProcurementMethod, offersEndAt: Date): Date {
  return method.review === undefined ? offersEndAt : after(calendar, offersEndAt, method.review);
}

/** The earliest schedule for a procurement published at `publishedAt`. */
export function minimumSchedule(
  calendar: WorkingCalendar,
  method: ProcurementMethod,
  publishedAt: Date,
): Schedule {
  const discussionEndsAt =
    method.discussion === undefined ? undefined : after(calendar, publishedAt, method.discussion);
  const acceptance = method.acceptance ?? { n: 0, unit: 'days' };
  const offersEndAt = later(
    after(calendar, publishedAt, acceptance),
    discussionEndsAt ?? publishedAt,
  );
  return {
    publishedAt,
    discussionEndsAt,
    offersEndAt,
    reviewEndsAt: reviewEnd(calendar, method, offersEndAt),
  };
}

/** The schedule at publication: the minimum, or the organizer's later deadline. */
export function scheduleAtPublication(
  calendar: WorkingCalendar,
  method: ProcurementMethod,
  publishedAt: Date,
  requested: RequestedDates = {},
): Schedule {
  const minimum = minimumSchedule(calendar, method, publishedAt);
  const wanted = requested.offersEndAt;
  if (wanted === undefined) return minimum;
  if (wanted.getTime() < minimum.offersEndAt.getTime()) {
    throw new UppError(
      'procurement.deadline_too_short',
      422,
      `the deadline may not be earlier than ${minimum.offersEndAt.toISOString()}`,
      { earliest: minimum.offersEndAt.toISOString() },
    );
  }
  return { ...minimum, offersEndAt: wanted, reviewEndsAt: reviewEnd(calendar, method, wanted) };
}

/** An organizer's new deadline: it may only move later, and only while offers are accepted. */
export function lengthenDeadline(
  calendar: WorkingCalendar,
  method: ProcurementMethod,
  schedule: Schedule,
  offersEndAt: Date,
): Schedule {
  if (offersEndAt.getTime() <= schedule.offersEndAt.getTime()) {
    throw new UppError(
      'procurement.deadline_shortened',
      422,
      `the deadline can only be lengthened beyond ${schedule.offersEndAt.toISOString()}`,
    );
  }
  return { ...schedule, offersEndAt, reviewEndsAt: reviewEnd(calendar, method, offersEndAt) };
}

/**
 * After an amendment of the documentation at `amendedAt`, suppliers get the method's whole
 * acceptance period again: the deadline becomes at least that far from the amendment, and a
 * discussion period restarts when the method has one.
 */
export function extendForAmendment(
  calendar: WorkingCalendar,
  method: ProcurementMethod,
  schedule: Schedule,
  amendedAt: Date,
): Schedule {
  const fresh = minimumSchedule(calendar, method, amendedAt);
  const discussionEndsAt =
    schedule.discussionEndsAt === undefined || fresh.discussionEndsAt === undefined
      ? schedule.discussionEndsAt
      : later(schedule.discussionEndsAt, fresh.discussionEndsAt);
  const offersEndAt = later(schedule.offersEndAt, fresh.offersEndAt);
  return {
    ...schedule,
    discussionEndsAt,
    offersEndAt,
    reviewEndsAt: reviewEnd(calendar, method, offersEndAt),
  };
}

/** After a declared outage of `lengthMs` that overlapped acceptance: the deadline moves by it. */
export function extendForOutage(
  calendar: WorkingCalendar,
  method: ProcurementMethod,
  schedule: Schedule,
  lengthMs: number,
): Schedule {
  const offersEndAt = new Date(schedule.offersEndAt.getTime() + lengthMs);
  return { ...schedule, offersEndAt, reviewEndsAt: reviewEnd(calendar, method, offersEndAt) };
}

export function markInstant(schedule: Schedule, mark: ScheduleMark): Date | undefined {
  return schedule[mark];
}

/**
 * The next instant at which the chronograph must look at a procurement in `status`: the earliest
 * schedule mark that can move it on, or undefined when only a person's action can.
 */
export function nextCheck(
  method: ProcurementMethod,
  status: ProcurementStatus,
  schedule: Schedule | undefined,
): { at: Date; mark: ScheduleMark } | undefined {
  if (schedule === undefined) return undefined;
  const due = marksFrom(method, status).flatMap((mark) => {
    const at = markInstant(schedule, mark);
    return at === undefined ? [] : [{ at, mark }];
  });
  due.sort((a, b) => a.at.getTime() - b.at.getTime());
  return due[0];
}

/** True when the outage [start, end) overlapped acceptance [publishedAt, offersEndAt). */
export function overlapsAcceptance(schedule: Schedule, start: Date, end: Date): boolean {
  return start.getTime() < schedule.offersEndAt.getTime() && end > schedule.publishedAt;
}
