/**
 * Coordinators starting together on a schema that does not exist yet (Postgres): each one's store
 * opens, and the schema is created and migrated once.
 */
import pg from "pg";
import { Store } from "../../src/store/store";
import { newSchemaName, testConfig } from "../support/coordinator";

const url = process.env.DTX_TEST_DATABASE_URL ?? "";
const onPostgres = url ? test : test.skip;
const schema = newSchemaName();

afterAll(async () => {
  if (!url) return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`drop schema if exists "${schema}" cascade`);
  await c.end();
});

onPostgres("8 stores opened at once on a new schema all open, and migrate it once", async () => {
  const options = testConfig({}, schema).store;
  const opened = await Promise.allSettled(Array.from({ length: 8 }, () => Store.open(options)));
  const stores = opened.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
  try {
    expect(opened.filter((o) => o.status === "rejected")).toEqual([]);
    const { rows } = await stores[0]!.db.query<{ n: string; distinct_n: string }>(
      "select count(*) as n, count(distinct version) as distinct_n from dtx_migrations",
    );
    expect(rows[0]!.n).toBe(rows[0]!.distinct_n);
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});
