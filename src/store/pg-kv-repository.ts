import type { KvPage, KvRecord, KvRepository } from "../core/kv-repository";
import * as sql from "./kv-statements";
import type { Store } from "./store";

/** The core's KvRepository over `pg` (Postgres, or PGlite through its node-postgres adapter). */
export class PgKvRepository implements KvRepository {
  constructor(private readonly store: Store) {}

  find(cat: string, key?: string): Promise<KvRecord[]> {
    return sql.findKv(this.store.sql, cat, key ?? null);
  }

  scan(cat: string, beforeId: string | undefined, limit: number): Promise<KvPage> {
    return sql.scanKv(this.store.sql, cat, beforeId, limit);
  }

  create(cat: string, key: string, value: string, now: Date): Promise<KvRecord | null> {
    return sql.createKv(this.store.sql, cat, key, value, now);
  }

  update(id: string, value: string, version: number, now: Date): Promise<boolean> {
    return sql.updateKv(this.store.sql, id, value, version, now);
  }

  delete(cat: string, key: string): Promise<boolean> {
    return sql.deleteKv(this.store.sql, cat, key);
  }
}
