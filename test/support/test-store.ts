import { defaultOptions, type TransRecord } from "../../src/core/model";
import { Store } from "../../src/store/store";
import { newSchemaName, testConfig } from "./coordinator";
import { pgliteDataDir, removePgliteDataDir } from "./pglite-template";

/** The PGlite directory of each store opened by openTestStore. */
const dataDirs = new WeakMap<Store, string>();

/**
 * A store of its own for a store test file: PGlite (a copy of the test run's template,
 * pglite-template.ts), or a fresh schema on DTX_TEST_DATABASE_URL.
 */
export async function openTestStore(schema = newSchemaName()): Promise<Store> {
  const options = testConfig({}, schema).store;
  if (options.url) return Store.open(options);
  const dataDir = pgliteDataDir();
  try {
    const store = await Store.open({ ...options, dataDir });
    dataDirs.set(store, dataDir);
    return store;
  } catch (err) {
    removePgliteDataDir(dataDir);
    throw err;
  }
}

/** Closes a store from `openTestStore`, dropping its schema on Postgres. */
export async function closeTestStore(store: Store | undefined): Promise<void> {
  if (store?.kind === "postgres") {
    const { rows } = await store.db.query<{ schema: string }>("select current_schema() as schema");
    await store.db.query(`drop schema "${rows[0]!.schema}" cascade`);
  }
  await store?.close();
  const dataDir = store && dataDirs.get(store);
  if (dataDir) removePgliteDataDir(dataDir);
}

/** The fixed time store tests write at. */
export const T0 = new Date("2030-01-01T00:00:00.000Z");

/** A transaction record as the engine would insert it, created at T0 (`over` replaces fields). */
export function transRecord(gid: string, over: Partial<TransRecord> = {}): TransRecord {
  return {
    id: "",
    gid,
    transType: "saga",
    status: "submitted",
    protocol: "http",
    queryPrepared: "",
    settings: { kind: "saga", orders: new Map() },
    options: defaultOptions(),
    rollbackReason: "",
    result: "",
    createTime: T0,
    updateTime: T0,
    finishTime: null,
    rollbackTime: null,
    nextCronTime: T0,
    nextCronIntervalMs: 10_000,
    owner: "",
    ...over,
  };
}
