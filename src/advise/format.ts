/** Numbers as advise prints them: whole numbers grouped, small rates with 3 significant digits. */
export function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function rate(value: number): string {
  if (value === 0) return '0';
  if (Math.abs(value) >= 100) return count(value);
  return Number(value.toPrecision(3)).toString();
}

export function ms(value: number | null): string {
  if (value === null) return '-';
  return value >= 100 ? `${Math.round(value)} ms` : `${Number(value.toPrecision(2))} ms`;
}

export function months(value: number): string {
  return value >= 24 ? `${rate(value / 12)} years` : `${rate(value)} months`;
}

/** A measured value as a share of its threshold: "12%", or "1.1e-5" when under 1%. */
export function share(value: number, threshold: number): string {
  const ratio = value / threshold;
  return ratio >= 0.01 ? `${rate(ratio * 100)}%` : ratio.toExponential(1);
}
