/** Days as ISO strings ('YYYY-MM-DD', UTC), the warehouse's date keys, and a daily publication at a fixed UTC time. */

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

/** The warehouse's date key of a day (dim_date, fact_rates_history.date_key): YYYYMMDD as a number. */
export function dateKeyOf(day: IsoDay | Date): number {
  return Number((typeof day === 'string' ? day : dayOf(day)).replaceAll('-', ''));
}
