/**
 * `DTX_BENCH_DATABASE_URL=postgres://… node dist/bench/statement-cost.js [sagas per statement…]`: the
 * Postgres CPU of the hot path's two statements, `insertTrans` and `savePass`, measured apart from
 * everything else. On one connection to a scratch schema (dropped at the end) it writes 2-step sagas
 * (4 branch rows, 2 of them updated) in statements of N sagas each, as group commit does, and reads the
 * backend's CPU from /proc (Postgres on this machine). Each N runs twice, in turn: the statements
 * as the store runs them (named, prepared once per connection) and unnamed (parsed at every call).
 * Prints the backend CPU per statement and per saga. Default N: 1 4 13 40.
 */
import { readFileSync } from "node:fs";
import { defaultOptions, type NewBranch, type TransRecord } from "../src/core/model";
import type { PassWrite } from "../src/core/repository";
import type { Queryable } from "../src/store/queryable";
import { Store } from "../src/store/store";
import { insertTrans, savePass } from "../src/store/trans-statements";

const SAGAS = 4_000;

function saga(gid: string): { trans: TransRecord; branches: NewBranch[] } {
  const now = new Date();
  const payload = Buffer.from('{"amount":30}');
  return {
    trans: {
      id: "",
      gid,
      transType: "saga",
      status: "submitted",
      protocol: "http",
      queryPrepared: "",
      settings: { kind: "saga", orders: new Map() },
      options: { ...defaultOptions(), waitResult: true },
      rollbackReason: "",
      result: "",
      createTime: now,
      updateTime: now,
      finishTime: null,
      rollbackTime: null,
      nextCronTime: new Date(now.getTime() + 10_000),
      nextCronIntervalMs: 10_000,
      owner: "statement-cost",
    },
    branches: ["01", "02"].flatMap((b) => [
      { branchId: b, op: "compensate", url: "http://127.0.0.1:1/api/busi/TransRevert", payload },
      { branchId: b, op: "action", url: "http://127.0.0.1:1/api/busi/Trans", payload },
    ]),
  };
}

function outcome(gid: string, branchIds: string[]): PassWrite {
  const now = new Date();
  const answer = { outcome: "SUCCESS" as const, code: "200", text: '{"dtm_result":"SUCCESS"}', at: now };
  return {
    gid,
    owner: "statement-cost",
    ownerAfter: "",
    fromStatus: "submitted",
    toStatus: "succeed",
    rollbackReason: "",
    now,
    nextCronTime: null,
    nextCronIntervalMs: 0,
    branches: [branchIds[1]!, branchIds[3]!].map((id) => ({
      id,
      status: "succeed",
      calls: 1,
      lastAnswer: answer,
    })),
  };
}

/** CPU ticks (user + system, 1/100 s) a process has used. */
function ticks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

async function measure(db: Queryable, backend: number, n: number, tag: string): Promise<number> {
  const statements = Math.ceil(SAGAS / n);
  const before = ticks(backend);
  for (let s = 0; s < statements; s++) {
    const items = Array.from({ length: n }, (_, i) => saga(`${tag}-${s}-${i}`));
    const inserted = await insertTrans(db, items);
    await savePass(
      db,
      items.map((it, i) => outcome(it.trans.gid, inserted[i]!.branchIds)),
    );
  }
  return ((ticks(backend) - before) * 10) / (2 * statements);
}

async function main(): Promise<void> {
  const url = process.env.DTX_BENCH_DATABASE_URL;
  if (!url) throw new Error("DTX_BENCH_DATABASE_URL: set it to a Postgres on this machine");
  const sizes = process.argv.slice(2).map(Number);
  const schema = `statement_cost_${process.pid}`;
  const store = await Store.open({ url, dataDir: "", schema, poolSize: 1 });
  const unnamed: Queryable = { query: (_name, text, values) => store.db.query(text, values) };
  try {
    const { rows } = await store.db.query<{ pid: number }>("select pg_backend_pid() as pid");
    const backend = rows[0]!.pid;
    console.log("| sagas per statement | round | prepared: ms per statement | unnamed: ms per statement |");
    console.log("| ------------------: | ----: | -------------------------: | ------------------------: |");
    for (const n of sizes.length > 0 ? sizes : [1, 4, 13, 40]) {
      for (const round of [1, 2]) {
        const prepared = await measure(store.sql, backend, n, `p${n}-${round}`);
        const plain = await measure(unnamed, backend, n, `u${n}-${round}`);
        console.log(`| ${n} | ${round} | ${prepared.toFixed(3)} | ${plain.toFixed(3)} |`);
      }
    }
  } finally {
    await store.db.query(`drop schema "${schema}" cascade`);
    await store.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
