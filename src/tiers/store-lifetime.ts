import type { ObjectStore } from './object-store.js';
import { openObjectStore } from './open-store.js';
import { S3Store } from './s3-store.js';

/** Closes what a store holds open (an S3 client's sockets), so the process can exit. */
export function releaseStore(store: ObjectStore): void {
  if (store instanceof S3Store) store.close();
}

/** Opens the store of a destination (directory or s3://bucket/prefix) for fn, and releases it afterwards. */
export async function withObjectStore<T>(dest: string, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = openObjectStore(dest);
  try {
    return await fn(store);
  } finally {
    releaseStore(store);
  }
}
