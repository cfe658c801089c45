/** The providers' formats a production source may speak: its latest-rates response, as the provider shapes it. */
export const PRODUCTION_FORMATS = ['frankfurter', 'open-er-api', 'exchangerate-api', 'oxr'] as const;
export type ProductionFormat = (typeof PRODUCTION_FORMATS)[number];
