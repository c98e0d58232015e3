/**
 * The alert webhook (dtm's AlertWebHook / AlertRetryLimit, §5.5; dtm's msg_webhook_test.go with a
 * saga): after each error, once the retry interval has doubled `alert.retryLimit` times, dtm's JSON
 * body is POSTed to `alert.webhook`; a webhook that fails changes nothing for the transaction.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { dropLeftoverScripts, freshGid, transferBody } from "./saga-helpers";

let rm: BranchServices;
let hook: http.Server;
let hookUrl: string;
const received: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  rm = await BranchServices.start();
  hook = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        method: req.method,
        contentType: req.headers["content-type"],
        body: JSON.parse(Buffer.concat(chunks).toString()),
      });
      res.writeHead(received.length % 2 === 0 ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts?team=payments`;
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await rm?.close();
  await new Promise((resolve) => hook?.close(resolve));
});

/** The alerts of `gid` received within `ms` (they are sent without waiting). */
async function alertsOf(gid: string, n: number, ms = 5000): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const mine = received.filter((r) => (r.body as { gid: string }).gid === gid);
    if (mine.length >= n || Date.now() > deadline) return mine;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("the third error in a row is alerted with dtm's body; each later one too; the saga still finishes", async () => {
  const dtx = await TestCoordinator.start({ alert: { webhook: hookUrl } });
  try {
    const gid = freshGid("alert");
    rm.script("TransIn", "ERR", "ERR", "ERR", "ERR");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
    await dtx.settled(gid);
    await dtx.cron();
    // two errors: the interval is 40 s, doubled twice; nothing sent
    expect((await dtx.query(gid)).transaction.next_cron_interval).toBe(40);
    expect(await alertsOf(gid, 1, 300)).toEqual([]);

    await dtx.cron();
    const alert = {
      method: "POST",
      contentType: "application/json",
      body: {
        gid,
        status: "submitted",
        branch: rm.url("TransIn"),
        error: '500: {"error":"injected error"}',
        retry_count: 3,
        branch_id: "02",
        op: "action",
      },
    };
    expect(await alertsOf(gid, 1)).toEqual([alert]);

    // the webhook answers this one 500: only logged
    await dtx.cron({ lookAheadMs: 1_000_000 });
    expect(await alertsOf(gid, 2)).toEqual([alert, { ...alert, body: { ...alert.body, retry_count: 4 } }]);

    await dtx.cron({ lookAheadMs: 1_000_000 });
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await alertsOf(gid, 3, 300)).toHaveLength(2);
  } finally {
    await dtx.close();
  }
});

test("alert.retryLimit sets the count; an unreachable webhook changes nothing", async () => {
  const dtx = await TestCoordinator.start({ alert: { webhook: "http://127.0.0.1:1/alerts", retryLimit: 1 } });
  try {
    const gid = freshGid("alert-dead");
    rm.script("TransIn", "ERR");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
    await dtx.settled(gid);
    await dtx.cron();
    expect(await dtx.status(gid)).toBe("succeed");
  } finally {
    await dtx.close();
  }
});
