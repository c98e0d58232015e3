/**
 * The bench measures on Postgres in a database of its own (`dtx_bench_<id>`), so other clients of
 * DTX_BENCH_DATABASE_URL's database do not count in its commits, and drops it at the end; a user who
 * may not create databases gets the given database and a note saying why.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openBenchDatabase } from "../../bench/bench-database";

const url = process.env.DTX_TEST_DATABASE_URL;
const onPostgres = url ? test : test.skip;

async function sql<R extends pg.QueryResultRow>(connectionString: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

const exists = async (name: string) =>
  (await sql(url!, `select 1 from pg_database where datname = '${name}'`)).length === 1;

onPostgres("creates dtx_bench_<id>, connects there, and drops it at the end", async () => {
  const id = randomBytes(4).toString("hex");
  const db = await openBenchDatabase(url!, id);
  expect({ name: db.name, own: db.own, note: db.note }).toEqual({
    name: `dtx_bench_${id}`,
    own: true,
    note: null,
  });
  const [row] = await sql<{ db: string }>(db.url, "select current_database() as db");
  expect(row!.db).toBe(`dtx_bench_${id}`);
  expect(await exists(db.name)).toBe(true);
  await db.drop();
  expect(await exists(db.name)).toBe(false);
});

onPostgres("a user without CREATEDB: the given database, with a note naming it", async () => {
  const role = `dtx_bench_nocreate_${randomBytes(4).toString("hex")}`;
  await sql(url!, `create role ${role} login nocreatedb`);
  try {
    const asRole = new URL(url!);
    asRole.username = role;
    const shared = asRole.pathname.slice(1);
    const db = await openBenchDatabase(asRole.toString(), "0000abcd");
    expect({ url: db.url, name: db.name, own: db.own }).toEqual({
      url: asRole.toString(),
      name: shared,
      own: false,
    });
    expect(db.note).toContain("no CREATEDB");
    expect(db.note).toContain(`ran in ${shared}`);
    await db.drop();
    expect(await exists(shared)).toBe(true);
  } finally {
    await sql(url!, `drop role ${role}`);
  }
});
