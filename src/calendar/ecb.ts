/**
 * The ECB's calendar: the reference rates are fixed on TARGET business days and published around 16:00 Frankfurt time
 * (Frankfurter mirrors them).
 */
import { addDays, dayOf, weekdayOf, type IsoDay } from './days.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Since 2016-07-01 the rates come out around 16:00 Frankfurt time; before, around 14:30 (after a 14:15 concertation). */
const SIXTEEN_HUNDRED_SINCE = '2016-07-01';
const publicationMinuteBerlin = (date: string) => (date >= SIXTEEN_HUNDRED_SINCE ? 16 * 60 : 14 * 60 + 30);

const berlinOffset = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'longOffset' });

/**
 * When the ECB publishes the reference rates of a business day (YYYY-MM-DD), in Frankfurt time: around
 * 16:00 since 2016-07-01 (15:00 UTC in winter, CET; 14:00 UTC in summer, CEST), around 14:30 before.
 */
export function ecbPublicationTime(date: string): Date {
  const match = ISO_DATE.exec(date);
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [NaN, NaN, NaN];
  const localAsUtc = Date.UTC(year, month - 1, day, 0, match ? publicationMinuteBerlin(date) : 0);
  const check = new Date(localAsUtc);
  if (!match || check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    throw new RangeError(`not a calendar date: ${JSON.stringify(date)}`);
  }
  // Summer time switches at 01:00 UTC, so the offset at 14:30 or 16:00 local equals the offset then in UTC.
  return new Date(localAsUtc - berlinOffsetMinutes(check) * 60_000);
}

function berlinOffsetMinutes(at: Date): number {
  const name = berlinOffset.formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? '';
  const match = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!match) throw new Error(`unexpected time zone offset ${JSON.stringify(name)} for Europe/Berlin`);
  if (!match[1]) return 0;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
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
