/** One row of the key-value table (dtm's KVStore): a category, a key, a text value and its version. */
export interface KvRecord {
  id: string;
  cat: string;
  key: string;
  value: string;
  /** 1 when created; each update adds 1 (the optimistic compare-and-set of `update`). */
  version: number;
  createTime: Date;
  updateTime: Date;
}

/** A page of key-value rows, newest first, and the cursor of the next one ("" on the last page). */
export interface KvPage {
  rows: KvRecord[];
  next: string;
}

/**
 * The core's port to the key-value table, where topics and their subscribers live (category
 * `topics`). `src/store/pg-kv-repository.ts` implements it over Postgres or PGlite, one statement per
 * method; `src/store/memory-kv-repository.ts` in memory for unit tests. Every update is a
 * compare-and-set on the version, so concurrent writers never lose each other's changes.
 */
export interface KvRepository {
  /** The rows of a category, or the one row of `key` in it when a key is given. */
  find(cat: string, key?: string): Promise<KvRecord[]>;
  /** A page of a category's rows (every category's when `cat` is empty), newest first. */
  scan(cat: string, beforeId: string | undefined, limit: number): Promise<KvPage>;
  /** Creates a row with version 1 unless `(cat, key)` exists (then null). */
  create(cat: string, key: string, value: string, now: Date): Promise<KvRecord | null>;
  /** Writes a new value if the row still has `version`, adding 1 to it; false when it changed or is gone. */
  update(id: string, value: string, version: number, now: Date): Promise<boolean>;
  /** Deletes a row; false when there was none. */
  delete(cat: string, key: string): Promise<boolean>;
}
