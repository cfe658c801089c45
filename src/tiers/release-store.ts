import type { ObjectStore } from './object-store.js';
import { S3Store } from './s3-store.js';

/** Closes what a store holds open (an S3 client's sockets), so the process can exit. */
export function releaseStore(store: ObjectStore): void {
  if (store instanceof S3Store) store.close();
}
