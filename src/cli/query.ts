import path from 'node:path';
import { Command, Option } from 'commander';
import type { CommandContext } from './context.js';
import { formatAnswer, QUERY_FORMATS, type QueryFormat } from './query-format.js';

export function queryCommand(context: () => CommandContext): Command {
  return new Command('query')
    .description(
      'run one read-only SELECT (DuckDB) over all history, hot and archived: rates_history, currencies, sources, dates; no file, network or extension access (exit 2 on bad or refused SQL)',
    )
    .argument('<sql>', 'e.g. "select base, quote, count(*) from rates_history group by all"')
    .addOption(new Option('--format <format>', 'output format').choices([...QUERY_FORMATS]).default('table'))
    .action(async (sql: string, flags: { format: QueryFormat }) => {
      const ctx = context();
      // DuckDB loads only for the commands that use it, and here while the connection to PostgreSQL is made; it
      // opens (on its own threads) as soon as it is loaded.
      const engine = import('../tiers/query.js');
      const duck = engine.then(() => import('../tiers/duck.js')).then(({ Duck }) => Duck.open());
      duck.catch(() => undefined);
      let started = false;
      let result;
      try {
        result = await ctx.withReadDirectDb(async (db) => {
          const { runQuery } = await engine;
          started = true;
          return runQuery(db, sql, { cacheDir: path.join(ctx.config.home, 'cache'), duck });
        });
      } finally {
        // runQuery closes the DuckDB it was given; not reached (no connection), it is closed here.
        if (!started) (await duck.catch(() => undefined))?.close();
      }
      for (const { month, hotRows } of result.shadowed) {
        process.stderr.write(
          `fxpipe: warning: ${month} is archived, yet PostgreSQL holds ${hotRows} rows of it loaded after archiving; rates_history shows the archive only (fxpipe restore ${month} merges them)\n`,
        );
      }
      if (result.unfit) {
        const { rows, first } = result.unfit;
        const more = rows > 1 ? ` (and ${rows - 1} more rows)` : '';
        process.stderr.write(
          `fxpipe: warning: ${first}${more} does not fit DECIMAL(38,24) exactly ` +
            '(at most 14 integer digits and 24 decimals): rates_history shows it as null; PostgreSQL keeps it as it is\n',
        );
      }
      process.stdout.write(formatAnswer(result, flags.format));
    });
}
