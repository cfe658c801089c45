import { FxpipeError } from '../errors.js';

/**
 * A month archive cannot move exactly (values its Parquet types cannot hold, a copy that fails verification, a
 * partition that changed meanwhile, locks readers kept): it stays in PostgreSQL, the message is the one-line
 * reason reported, and the archive goes on with the other months.
 */
export class MonthSkipped extends FxpipeError {
  constructor(reason: string, cause?: unknown) {
    super(reason, { cause });
    this.name = 'MonthSkipped';
  }
}
