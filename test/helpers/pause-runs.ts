import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface PausedRuns {
  /** Resolves with the backend pid of the first run held at its history insert. */
  waitUntilPaused(): Promise<number>;
  /** Lets the held runs go on, and closes the holding session; calling it again does nothing. */
  release(): Promise<void>;
}

const KEY = 4242;

/**
 * Holds every run right after its history insert, before its commit: a test-only statement trigger on
 * fact_rates_history waits on an advisory lock this session holds until release(). The insert has then
 * executed and is uncommitted, so a test can kill the process there, or signal it, and look.
 */
export async function pauseRunsAfterHistoryInsert(url: string): Promise<PausedRuns> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  await holder.query(`create function test_pause() returns trigger language plpgsql as $$
                      begin perform pg_advisory_lock(${KEY}); perform pg_advisory_unlock(${KEY}); return null; end $$`);
  await holder.query('create trigger test_pause after insert on fact_rates_history for each statement execute function test_pause()');
  await holder.query('select pg_advisory_lock($1)', [KEY]);
  let released = false;
  return {
    async waitUntilPaused() {
      for (let i = 0; i < 400; i++) {
        const { rows } = await holder.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = current_database() and wait_event = 'advisory'
              and query ilike 'insert into fact_rates_history%'`,
        );
        if (rows[0]) return rows[0].pid;
        await sleep(50);
      }
      throw new Error('no run reached its history insert');
    },
    async release() {
      if (released) return;
      released = true;
      await holder.query('select pg_advisory_unlock($1)', [KEY]);
      await holder.end();
    },
  };
}
