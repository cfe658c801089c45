import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/** An answer serve gave from the database, kept to be given again while the database cannot answer. */
export interface GoodAnswer {
  /** What was asked: the family, its route and its query, without any token. */
  key: string;
  contentType: string;
  body: string;
  etag: string;
  /** When the data it holds was published (its newest publication): its Last-Modified. */
  asOf: string;
  /** Until when every rate in it is in force (its oldest publication plus the warehouse's maximum rate age). */
  inForceUntil: string;
  /** When serve got it from the database. */
  storedAt: string;
}

/** Answers kept in memory at most, the least recently used dropped first; on disk, the oldest files beyond it. */
const MAX_ANSWERS = 2000;
const FORMAT = 1;

/**
 * The last good answers, in memory and on disk (one JSON file per question in `dir`, written to a temporary file,
 * synced and renamed into place, so a reader never sees half of one): a `serve` started while the database is down,
 * or another instance given the same directory, answers from them. A file that cannot be read is no answer.
 */
export class LastGoodStore {
  readonly #memory = new Map<string, GoodAnswer>();
  #made: Promise<void> | null = null;
  #writes = 0;

  /**
   * `scope` names the warehouse the answers come from (the configured database, not the host a pool happens to be
   * on): every key is kept under it, so instances over different warehouses may share a directory without ever
   * answering each other's rates.
   */
  constructor(
    readonly dir: string,
    readonly scope: string,
  ) {}

  /** The answer kept for key: from memory, else from disk (another instance's, or one from before a restart). */
  async get(question: string): Promise<GoodAnswer | null> {
    const key = this.keyOf(question);
    const kept = this.#memory.get(key);
    if (kept) {
      this.#memory.delete(key);
      this.#memory.set(key, kept);
      return kept;
    }
    const text = await readFile(this.#file(key), 'utf8').catch(() => null);
    if (text === null) return null;
    const stored = parse(text);
    if (stored === null || stored.key !== key) return null;
    this.#remember(stored);
    return stored;
  }

  /** The key a question is kept under: within this store's scope. */
  keyOf(question: string): string {
    return `${this.scope}\n${question}`;
  }

  /** Keeps answer (its key from keyOf), on disk too when it differs from the one kept. Never throws: a full disk costs the copy, not the answer. */
  async put(answer: GoodAnswer): Promise<void> {
    const kept = this.#memory.get(answer.key);
    this.#remember(answer);
    if (kept?.etag === answer.etag && kept.inForceUntil === answer.inForceUntil) return;
    try {
      await this.#write(answer);
    } catch {
      // The answer is still kept in memory; the next good answer tries the disk again.
    }
  }

  /** How many answers are kept in memory and in force at `now`. */
  inForce(now: Date): number {
    let n = 0;
    for (const answer of this.#memory.values()) if (Date.parse(answer.inForceUntil) > now.getTime()) n++;
    return n;
  }

  /** Whether any answer on disk is in force at `now` (a serve that has answered nothing yet, started during an outage). */
  async anyInForce(now: Date): Promise<boolean> {
    if (this.inForce(now) > 0) return true;
    const files = await readdir(this.dir).catch(() => [] as string[]);
    for (const file of files.filter((f) => f.endsWith('.json')).slice(0, MAX_ANSWERS)) {
      const stored = parse(await readFile(path.join(this.dir, file), 'utf8').catch(() => ''));
      if (stored && stored.key.startsWith(`${this.scope}\n`) && Date.parse(stored.inForceUntil) > now.getTime()) return true;
    }
    return false;
  }

  #remember(answer: GoodAnswer): void {
    this.#memory.delete(answer.key);
    this.#memory.set(answer.key, answer);
    if (this.#memory.size > MAX_ANSWERS) this.#memory.delete(this.#memory.keys().next().value!);
  }

  #file(key: string): string {
    return path.join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  }

  async #write(answer: GoodAnswer): Promise<void> {
    this.#made ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    await this.#made.catch(() => (this.#made = null));
    const file = this.#file(answer.key);
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify({ format: FORMAT, ...answer }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    if (++this.#writes % 100 === 0) await this.#prune();
  }

  /** Beyond MAX_ANSWERS files, the ones written longest ago go (and temporary files a killed serve left). */
  async #prune(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const files = await Promise.all(
      names.map(async (name) => ({ name, mtime: (await stat(path.join(this.dir, name)).catch(() => null))?.mtimeMs ?? 0 })),
    );
    const hourAgo = Date.now() - 3_600_000;
    const stale = files.filter((f) => f.name.endsWith('.tmp') && f.mtime < hourAgo);
    const answers = files
      .filter((f) => f.name.endsWith('.json'))
      .sort((a, b) => b.mtime - a.mtime)
      .slice(MAX_ANSWERS);
    await Promise.all([...stale, ...answers].map((f) => rm(path.join(this.dir, f.name), { force: true })));
  }
}

function parse(text: string): GoodAnswer | null {
  try {
    const value = JSON.parse(text) as Partial<GoodAnswer> & { format?: number };
    const fields = ['key', 'contentType', 'body', 'etag', 'asOf', 'inForceUntil', 'storedAt'] as const;
    if (value.format !== FORMAT || !fields.every((field) => typeof value[field] === 'string')) return null;
    return value as GoodAnswer;
  } catch {
    return null;
  }
}
