/** Days as ISO strings ('YYYY-MM-DD', UTC), the warehouse's date keys, and a daily publication at a fixed UTC time. */

export type IsoDay = string;

const MS_PER_DAY = 86_400_000;

export function dayOf(at: Date): IsoDay {
  return at.toISOString().slice(0, 10);
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
/**
 * An ISO 8601 instant: a day, or a day and a time after a T or a space (HH:MM, :SS and a fraction optional) with its
 * offset (Z, ±HH:MM or ±HHMM); without one, a time is the machine's local time, as JavaScript reads it.
 */
const INSTANT = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))?)?$/;
/** The first and last days fxpipe reads: PostgreSQL's date has no year 0, and JavaScript writes a year past 9999 with a sign. */
export const FIRST_DAY = '0001-01-01';
export const LAST_DAY = '9999-12-31';

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysInMonth = (year: number, month: number) => (month === 2 ? (isLeapYear(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);

/**
 * The one rule for a day given as text, wherever it comes from (a route, a flag): YYYY-MM-DD, a day the Gregorian
 * calendar has (no month 13, no 32nd, no 29 February outside leap years), from 0001-01-01 to 9999-12-31.
 */
export function isCalendarDay(text: string): boolean {
  const match = DAY.exec(text);
  if (!match) return false;
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number];
  return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * An ISO 8601 instant (see INSTANT) as a Date, or null: its day a calendar day, its time a real one (hours 00-23,
 * minutes and seconds 00-59, an offset of at most 23:59), and the instant itself (in UTC) within isCalendarDay's years.
 * `offset: 'required'` refuses a time without an offset (a server's local time means nothing to its caller).
 */
export function parseInstant(text: string, options: { offset: 'required' | 'local' }): Date | null {
  const match = INSTANT.exec(text);
  if (!match) return null;
  const [, day, hours, minutes, seconds, zone, zoneHours, zoneMinutes] = match;
  if (!isCalendarDay(day!)) return null;
  if (hours !== undefined) {
    if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds ?? 0) > 59) return null;
    if (zone === undefined && options.offset === 'required') return null;
    if (zone !== undefined && zone !== 'Z' && (Number(zoneHours) > 23 || Number(zoneMinutes) > 59)) return null;
  }
  const date = new Date(hours === undefined ? `${day}T00:00:00Z` : text.replace(' ', 'T'));
  if (Number.isNaN(date.getTime())) return null;
  const utcDay = date.toISOString().slice(0, 10);
  // A year past 9999 is written +010000, one before 1 with a minus: both sort outside the range.
  return utcDay >= FIRST_DAY && utcDay <= LAST_DAY ? date : null;
}

/** Midnight UTC of day; throws on anything that is not a real calendar day. */
export function startOfDay(day: IsoDay): Date {
  if (!isCalendarDay(day)) throw new RangeError(`not a calendar day: ${day}`);
  return new Date(`${day}T00:00:00Z`);
}

export function addDays(day: IsoDay, days: number): IsoDay {
  return dayOf(new Date(startOfDay(day).getTime() + days * MS_PER_DAY));
}

export function daysBetween(from: IsoDay, to: IsoDay): number {
  return Math.round((startOfDay(to).getTime() - startOfDay(from).getTime()) / MS_PER_DAY);
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOf(day: IsoDay): number {
  return startOfDay(day).getUTCDay();
}

/** The instant `time` ('HH:MM:SS') UTC on day. */
export function utcInstant(day: IsoDay, time: string): Date {
  return new Date(`${day}T${time}Z`);
}

/** The UTC day of the latest daily publication made at `time` UTC, as seen at `at`. */
export function latestDailyPublication(at: Date, time: string): IsoDay {
  const today = dayOf(at);
  return at < utcInstant(today, time) ? addDays(today, -1) : today;
}

/** The warehouse's date key of a day (dim_date, fact_rates_history.date_key): YYYYMMDD as a number. */
export function dateKeyOf(day: IsoDay | Date): number {
  return Number((typeof day === 'string' ? day : dayOf(day)).replaceAll('-', ''));
}
