import type { KvPage, KvRecord } from "../core/kv-repository";
import type { Queryable } from "./queryable";

/** The columns of `kv` as pg returns them. */
interface KvRow {
  id: string;
  cat: string;
  k: string;
  v: string;
  version: string;
  create_time: Date;
  update_time: Date;
}

function toKv(r: KvRow): KvRecord {
  return {
    id: r.id,
    cat: r.cat,
    key: r.k,
    value: r.v,
    version: Number(r.version),
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

/** The rows of a category (oldest first), or its one row of `key` when a key is given. */
export async function findKv(db: Queryable, cat: string, key: string | null): Promise<KvRecord[]> {
  const { rows } = await db.query<KvRow>(
    "findKv",
    "select * from kv where cat = $1 and ($2::text is null or k = $2) order by id",
    [cat, key],
  );
  return rows.map(toKv);
}

/**
 * A page of a category's rows (every category's when `cat` is empty), newest first, and the cursor
 * of the next page ("" on the last: one row more than the page is read to know).
 */
export async function scanKv(
  db: Queryable,
  cat: string,
  beforeId: string | undefined,
  limit: number,
): Promise<KvPage> {
  const { rows } = await db.query<KvRow>(
    "scanKv",
    `select * from kv
     where ($1 = '' or cat = $1) and ($2::bigint is null or id < $2)
     order by id desc
     limit $3`,
    [cat, beforeId ?? null, limit + 1],
  );
  const page = rows.slice(0, limit).map(toKv);
  return { rows: page, next: rows.length > limit ? page[page.length - 1]!.id : "" };
}

/** Creates a row with version 1 unless `(cat, k)` exists; null then (found in the statement, never raised). */
export async function createKv(
  db: Queryable,
  cat: string,
  key: string,
  value: string,
  now: Date,
): Promise<KvRecord | null> {
  const { rows } = await db.query<KvRow>(
    "createKv",
    `insert into kv (cat, k, v, version, create_time, update_time) values ($1, $2, $3, 1, $4, $4)
     on conflict (cat, k) do nothing
     returning *`,
    [cat, key, value, now],
  );
  return rows[0] ? toKv(rows[0]) : null;
}

/** Writes a row's value if it still has `version` (compare-and-set), adding 1 to the version. */
export async function updateKv(
  db: Queryable,
  id: string,
  value: string,
  version: number,
  now: Date,
): Promise<boolean> {
  const { rowCount } = await db.query(
    "updateKv",
    "update kv set v = $2, version = version + 1, update_time = $4 where id = $1 and version = $3",
    [id, value, version, now],
  );
  return rowCount === 1;
}

/** Deletes the row of `(cat, k)`; false when there was none. */
export async function deleteKv(db: Queryable, cat: string, key: string): Promise<boolean> {
  const { rowCount } = await db.query("deleteKv", "delete from kv where cat = $1 and k = $2", [cat, key]);
  return rowCount === 1;
}
