import { createReadStream } from 'node:fs';
import type { Config } from '../config.js';
import { usageError } from '../errors.js';
import type { ProductionFormat } from './formats.js';
import { ProductionRateError, productionRatesIn, type ProductionRate } from './production-rates.js';
import { fetchProductionRates, shownUrl } from './production-url.js';

/** Where a check's production rates come from: a file, or an endpoint answering in a provider's format. */
export type ProductionInput = { file: string } | { url: string; format: ProductionFormat };

/** The input as it may be shown: a URL without its key. */
export const shownInput = (input: ProductionInput): string => ('file' in input ? input.file : shownUrl(input.url));

/**
 * The rates of the input, row by row: a file is read as it streams, never whole; an endpoint's answer is at most a
 * few megabytes. ProductionRateError naming the input (and the row) when they cannot be read.
 */
export async function* ratesFrom(input: ProductionInput): AsyncGenerator<ProductionRate> {
  if ('url' in input) {
    yield* await fetchProductionRates(input.url, input.format);
    return;
  }
  yield* productionRatesIn(fileChunks(input.file), input.file);
}

async function* fileChunks(file: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of createReadStream(file)) yield chunk as Buffer;
  } catch (error) {
    throw new ProductionRateError(file, `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** The check `fxpipe schedule` runs after each run (FXPIPE_PRODUCTION_URL + _FORMAT, or _FILE); null when none is set. */
export function configuredProductionInput(
  config: Pick<Config, 'productionUrl' | 'productionFormat' | 'productionFile'>,
): ProductionInput | null {
  const { productionUrl: url, productionFormat: format, productionFile: file } = config;
  if (url !== undefined && file !== undefined) throw usageError('FXPIPE_PRODUCTION_URL and FXPIPE_PRODUCTION_FILE are both set: set one');
  if (url !== undefined) {
    if (format === undefined)
      throw usageError('FXPIPE_PRODUCTION_URL needs FXPIPE_PRODUCTION_FORMAT (frankfurter, open-er-api, exchangerate-api, oxr)');
    return { url, format };
  }
  if (format !== undefined) throw usageError('FXPIPE_PRODUCTION_FORMAT is set without FXPIPE_PRODUCTION_URL');
  return file === undefined ? null : { file };
}
