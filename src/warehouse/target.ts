import type pg from 'pg';
import type { SessionAttrs } from './postgres-url.js';

/** Where fxpipe connects: a URL and how (connection.ts resolves it). Apart from connection.ts so that the modules it uses can name it. */
export interface Target {
  url: string;
  /** Where the URL came from, for messages: never holds the password. */
  label: string;
  embedded: boolean;
  /** The embedded server speaks TLS: connect over it (see EmbeddedConnection.tls). A DATABASE_URL says so itself (sslmode). */
  tls?: boolean;
  /** The URL's target_session_attrs, when it has one: each new connection checks the host still fits (StaleTargetError). */
  sessionAttrs?: SessionAttrs;
}

/** node-postgres's settings for target: its URL, and TLS where the embedded server speaks it. */
export function clientSettings(target: Pick<Target, 'url' | 'tls'>): pg.ClientConfig {
  return { connectionString: target.url, ...(target.tls ? { ssl: { rejectUnauthorized: false } } : {}) };
}
