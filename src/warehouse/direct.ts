import pg from 'pg';
import { ClientDb } from './client-db.js';
import type { Db, SessionDb } from './db.js';

/** The direct access path: one node-postgres connection, which bulk commands also use for COPY (`client`). */
export class DirectDb extends ClientDb<pg.Client> implements SessionDb {
  #ended = false;
  readonly #lockSession: SpareConnection;

  constructor(client: pg.Client, settings: pg.ClientConfig = {}, onError: (error: Error) => void = () => undefined) {
    super(client, 'direct');
    client.once('end', () => (this.#ended = true));
    this.#lockSession = new SpareConnection(settings, onError);
  }

  /** The connection is gone (closed, or dropped by the server). */
  get ended(): boolean {
    return this.#ended;
  }

  lockSession(): Promise<Db> {
    return this.#lockSession.get();
  }

  override async close(): Promise<void> {
    await this.#lockSession.close();
    await this.client.end();
  }
}

/** A second connection kept for the life of its owner: opened on first use, and again after it dropped. */
export class SpareConnection {
  #db: Promise<DirectDb> | null = null;

  constructor(
    private readonly settings: pg.ClientConfig,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  async get(): Promise<DirectDb> {
    const db = await this.#db?.catch(() => null);
    if (db && !db.ended) return db;
    this.#db = connectDirect(this.settings, this.onError);
    return this.#db;
  }

  async close(): Promise<void> {
    const db = await this.#db?.catch(() => null);
    this.#db = null;
    await db?.close().catch(() => undefined);
  }
}

/** One new connection on the direct path; the caller closes it. */
export async function connectDirect(settings: pg.ClientConfig, onError: (error: Error) => void = () => undefined): Promise<DirectDb> {
  const client = new pg.Client(settings);
  // A dropped connection surfaces as the failing query's error too; the event itself needs a listener.
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return new DirectDb(client, settings, onError);
}
