/**
 * The floor: the least a durable saga coordinator must do, to compare dtx against in the same run. It
 * accepts dtm's `POST /api/dtmsvr/submit` body of a saga, commits the saga with its branches in one
 * statement, calls the actions in order over HTTP, and commits the outcome in a second statement.
 * No validation, no compensation, no recovery, no other route. Run by the bench as its own process:
 * `FLOOR_PORT`, `FLOOR_POOL_SIZE`, and `FLOOR_DATABASE_URL` + `FLOOR_SCHEMA` (Postgres) or
 * `FLOOR_DATA_DIR` (PGlite when the URL is empty).
 */
import * as http from "node:http";
import pg from "pg";
import { Agent } from "undici";

async function openPool(env: NodeJS.ProcessEnv): Promise<pg.Pool> {
  const max = Number(env.FLOOR_POOL_SIZE || 20);
  if (env.FLOOR_DATABASE_URL) {
    const schema = env.FLOOR_SCHEMA || "floor";
    const setup = new pg.Client({ connectionString: env.FLOOR_DATABASE_URL });
    await setup.connect();
    await setup.query(`create schema if not exists "${schema}"`);
    await setup.end();
    return new pg.Pool({
      connectionString: env.FLOOR_DATABASE_URL,
      max,
      options: `-c search_path="${schema}"`,
    });
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
  const db = await PGlite.create(env.FLOOR_DATA_DIR || "memory://");
  return new pg.Pool(createPgConfig(db) as unknown as pg.PoolConfig);
}

type Saga = { gid: string; steps: Array<{ action: string }>; payloads: string[] };

async function main(): Promise<void> {
  const db = await openPool(process.env);
  // one row per saga, its branches inside: one index entry (the key) per saga
  await db.query("create table if not exists saga (gid text primary key, status text not null, body text)");
  const agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });

  const run = async (text: string): Promise<boolean> => {
    const saga = JSON.parse(text) as Saga;
    await db.query("insert into saga (gid, status, body) values ($1, 'submitted', $2)", [saga.gid, text]);
    let ok = true;
    for (const [i, step] of saga.steps.entries()) {
      const url = `${step.action}?gid=${saga.gid}&trans_type=saga&branch_id=0${i + 1}&op=action`;
      const res = await agent.request({ ...splitUrl(url), method: "POST", body: saga.payloads[i] });
      ok = res.statusCode === 200 && (await res.body.text()).includes("SUCCESS");
      if (!ok) break;
    }
    await db.query("update saga set status = $2 where gid = $1", [saga.gid, ok ? "succeed" : "failed"]);
    return ok;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number, body: string) =>
        res.writeHead(status, { "content-type": "application/json" }).end(body);
      if (req.url !== "/api/dtmsvr/submit") return answer(200, '{"msg":"pong"}');
      run(Buffer.concat(chunks).toString()).then(
        (ok) => answer(ok ? 200 : 409, `{"dtm_result":"${ok ? "SUCCESS" : "FAILURE"}"}`),
        (err: Error) => answer(500, JSON.stringify({ message: err.message })),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.env.FLOOR_PORT), "127.0.0.1");
  process.once("SIGTERM", () => server.close(() => void db.end().then(() => process.exit(0))));
}

function splitUrl(url: string): { origin: string; path: string } {
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname + u.search };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
