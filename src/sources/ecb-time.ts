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
