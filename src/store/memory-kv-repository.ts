import type { KvPage, KvRecord, KvRepository } from "../core/kv-repository";

/**
 * The core's KvRepository in memory, with the version compare-and-set of the SQL statements
 * (src/store/kv-statements.ts) — for unit tests of the core without a database.
 */
export class MemoryKvRepository implements KvRepository {
  private readonly rows: KvRecord[] = [];
  private lastId = 0;

  async find(cat: string, key?: string): Promise<KvRecord[]> {
    return this.rows
      .filter((r) => r.cat === cat && (key === undefined || r.key === key))
      .map((r) => ({ ...r }));
  }

  async scan(cat: string, beforeId: string | undefined, limit: number): Promise<KvPage> {
    const rows = this.rows
      .filter(
        (r) => (cat === "" || r.cat === cat) && (beforeId === undefined || Number(r.id) < Number(beforeId)),
      )
      .sort((a, b) => Number(b.id) - Number(a.id))
      .slice(0, limit + 1);
    const page = rows.slice(0, limit).map((r) => ({ ...r }));
    return { rows: page, next: rows.length > limit ? page[page.length - 1]!.id : "" };
  }

  async create(cat: string, key: string, value: string, now: Date): Promise<KvRecord | null> {
    if (this.rows.some((r) => r.cat === cat && r.key === key)) return null;
    const row = { id: String(++this.lastId), cat, key, value, version: 1, createTime: now, updateTime: now };
    this.rows.push(row);
    return { ...row };
  }

  async update(id: string, value: string, version: number, now: Date): Promise<boolean> {
    const row = this.rows.find((r) => r.id === id && r.version === version);
    if (!row) return false;
    Object.assign(row, { value, version: version + 1, updateTime: now });
    return true;
  }

  async delete(cat: string, key: string): Promise<boolean> {
    const i = this.rows.findIndex((r) => r.cat === cat && r.key === key);
    if (i < 0) return false;
    this.rows.splice(i, 1);
    return true;
  }
}
