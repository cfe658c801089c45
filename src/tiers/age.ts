import { usageError } from '../errors.js';

const AGE = /^([1-9]\d{0,4})([dwm])$/;
const LIMIT = { d: 36_500, w: 5_200, m: 1_200 } as const;

/**
 * The day before which a month must end to be archived: now minus an age of N days (Nd), weeks (Nw) or
 * calendar months (Nm), as YYYY-MM-DD in UTC.
 */
export function cutoffDay(age: string, now: Date, flag = '--older-than'): string {
  const match = AGE.exec(age.trim());
  const count = Number(match?.[1]);
  const unit = match?.[2] as keyof typeof LIMIT | undefined;
  if (!match || !unit || count > LIMIT[unit]) {
    throw usageError(
      `invalid ${flag} ${JSON.stringify(age)}: expected a whole number of days, weeks or months such as 90d, 12w or 6m (at most 100 years)`,
    );
  }
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  if (unit === 'm') {
    const target = new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth() - count, 1));
    const lastOfTarget = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
    target.setUTCDate(Math.min(day.getUTCDate(), lastOfTarget));
    return target.toISOString().slice(0, 10);
  }
  return new Date(day.getTime() - count * (unit === 'w' ? 7 : 1) * 86_400_000).toISOString().slice(0, 10);
}
