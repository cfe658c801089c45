/**
 * Where archived Parquet files live: a local directory or an S3 bucket (s3://bucket/prefix).
 * Keys are '/'-separated paths below the store's root, e.g. fact_rates_history/year=2024/month=03/part-0.parquet.
 */
export interface StoredObject {
  key: string;
  bytes: number;
}

export interface ObjectStore {
  /** The store's root as the user wrote it: a directory path or s3://bucket/prefix. */
  readonly root: string;
  /** The URI of a key, as recorded in archive_manifest (file:///… or s3://bucket/prefix/key). */
  uri(key: string): string;
  /** Uploads a local file under key (replacing it); resolves once the store has it durably. */
  put(localFile: string, key: string): Promise<StoredObject>;
  /** Downloads key to a local file. Throws when the key does not exist. */
  get(key: string, localFile: string): Promise<StoredObject>;
  /** Size of key, or null when it does not exist. */
  head(key: string): Promise<StoredObject | null>;
  /** Keys under a prefix. */
  list(prefix: string): Promise<StoredObject[]>;
  delete(key: string): Promise<void>;
}
