import cc from 'currency-codes';

export interface CurrencyInfo {
  code: string;
  name: string;
  symbol: string | null;
  minorUnits: number | null;
  isIso: boolean;
}

const names = new Intl.DisplayNames(['en'], { type: 'currency', fallback: 'none' });

/**
 * What dim_currency holds for a code: ISO 4217 membership, name and minor units from the ISO list
 * (currency-codes), symbol and names of non-ISO codes (FOK, GGP, …) from the runtime's CLDR data.
 */
export function currencyInfo(code: string): CurrencyInfo {
  const iso = cc.code(code);
  let symbol: string | null = null;
  let cldrDigits: number | null = null;
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency: code, currencyDisplay: 'narrowSymbol' });
    symbol = format.formatToParts(1).find((part) => part.type === 'currency')?.value ?? null;
    cldrDigits = format.resolvedOptions().maximumFractionDigits ?? null;
  } catch {
    // not a code the runtime knows
  }
  const cldrName = safeName(code);
  return {
    code,
    name: iso?.currency ?? cldrName ?? code,
    symbol: symbol === code ? null : symbol,
    minorUnits: iso ? iso.digits : cldrName ? cldrDigits : null,
    isIso: iso !== undefined,
  };
}

function safeName(code: string): string | null {
  try {
    return names.of(code) ?? null;
  } catch {
    return null;
  }
}
