/**
 * Days as ISO strings ('YYYY-MM-DD', UTC) and the two publication calendars the simulated providers follow:
 * a daily update at a fixed UTC time (ExchangeRate-API) and the ECB's 16:00 Frankfurt fix on TARGET
 * business days (which Frankfurter mirrors).
 */
import { ecbPublicationTime } from '../sources/ecb-time.js';

export type IsoDay = string;

const MS_PER_DAY = 86_400_000;

export function dayOf(at: Date): IsoDay {
  return at.toISOString().slice(0, 10);
}

export function isCalendarDay(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(date.getTime()) && dayOf(date) === text;
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

function easterSunday(year: number): IsoDay {
  // Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const dayOfMonth = ((h + l - 7 * m + 114) % 31) + 1;
  return `${year}-${String(month).padStart(2, '0')}-${String(dayOfMonth).padStart(2, '0')}`;
}

/** TARGET closing days, on which the ECB publishes no reference rates. */
function isTargetHoliday(day: IsoDay): boolean {
  const monthDay = day.slice(5);
  if (['01-01', '05-01', '12-25', '12-26'].includes(monthDay)) return true;
  const easter = easterSunday(Number(day.slice(0, 4)));
  return day === addDays(easter, -2) || day === addDays(easter, 1);
}

export function isEcbBusinessDay(day: IsoDay): boolean {
  const weekday = weekdayOf(day);
  return weekday !== 0 && weekday !== 6 && !isTargetHoliday(day);
}

/** The latest ECB business day on or before day. */
export function ecbBusinessDayOnOrBefore(day: IsoDay): IsoDay {
  let candidate = day;
  while (!isEcbBusinessDay(candidate)) candidate = addDays(candidate, -1);
  return candidate;
}

/** ECB business days from..to, both inclusive, oldest first. */
export function ecbBusinessDays(from: IsoDay, to: IsoDay): IsoDay[] {
  const days: IsoDay[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) if (isEcbBusinessDay(day)) days.push(day);
  return days;
}

/** The business day of the newest reference rates the ECB has published at `at` (around 16:00 Frankfurt time). */
export function ecbLatestPublishedDay(at: Date): IsoDay {
  // Publication falls at 14:00 or 15:00 UTC, so the UTC day is the day whose rates may have appeared.
  const today = dayOf(at);
  return isEcbBusinessDay(today) && at >= ecbPublicationTime(today) ? today : ecbBusinessDayOnOrBefore(addDays(today, -1));
}
