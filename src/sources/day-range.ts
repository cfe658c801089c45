/** An inclusive range of calendar days, each 'YYYY-MM-DD'. */
export interface DayRange {
  from: string;
  to: string;
}

export function inRange(day: string, range: DayRange): boolean {
  return day >= range.from && day <= range.to;
}

/** The range cut to one calendar year: the year's first and last days, bounded by the range. */
export function yearOfRange(year: number, range: DayRange): DayRange {
  const first = `${String(year).padStart(4, '0')}-01-01`;
  const last = `${String(year).padStart(4, '0')}-12-31`;
  return { from: first > range.from ? first : range.from, to: last < range.to ? last : range.to };
}

/** The range split into calendar years, oldest first: 2019-03-01..2020-12-31 → 2019-03-01..2019-12-31, 2020-01-01..2020-12-31. */
export function yearsOfRange(range: DayRange): DayRange[] {
  const years: DayRange[] = [];
  for (let year = Number(range.from.slice(0, 4)); year <= Number(range.to.slice(0, 4)); year++) years.push(yearOfRange(year, range));
  return years;
}
