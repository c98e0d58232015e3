/**
 * A saga pass that lost its transaction to another owner (its lease ran out while a branch call
 * hung, and the recovery claimed it) must not go forward from progress only it knows. Otherwise: the old pass hears its debit succeed and calls the credit, while
 * the new owner, which never saw the debit succeed, hears it refused, rolls the saga back and — the
 * credit's prerequisite not being done as far as it knows — does not compensate the credit: money
 * created (found by test/property/conservation.test.ts).
 */
import { randomUUID } from "node:crypto";
import { TestCoordinator } from "../support/coordinator";
import { listenHttp, type Listening } from "../support/listen";

let dtx: TestCoordinator;
let rm: Listening;
/** Branch calls in arrival order: `<op> <path>`. */
const calls: string[] = [];
let releaseFirstDebit!: () => void;
const firstDebitHeld = new Promise<void>((r) => (releaseFirstDebit = r));
let debits = 0;

beforeAll(async () => {
  // branch calls may hang long enough for the takeover to happen meanwhile
  const config = { branch: { requestTimeout: 60_000 } };
  dtx = await TestCoordinator.start(config);
  rm = await listenHttp(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://rm").pathname;
    calls.push(path);
    let status = 200;
    if (path === "/TransOut" && ++debits === 1)
      await firstDebitHeld; // the first pass's debit hangs…
    else if (path === "/TransOut") status = 409; // …and the next one is refused (no funds by then)
    res.writeHead(status).end(status === 200 ? '{"dtm_result":"SUCCESS"}' : '{"dtm_result":"FAILURE"}');
  });
});
afterAll(async () => {
  releaseFirstDebit();
  await rm?.close();
  await dtx?.close();
});

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

test("a pass whose lease was taken while its debit hung does not call the credit afterwards", async () => {
  const gid = `lost-lease-${randomUUID()}`;
  const url = (op: string) => `http://127.0.0.1:${rm.port}/${op}`;
  const submitted = await dtx.post("/api/dtmsvr/submit", {
    gid,
    trans_type: "saga",
    steps: [
      { action: url("TransOut"), compensate: url("TransOutRevert") },
      { action: url("TransIn"), compensate: url("TransInRevert") },
    ],
    payloads: ['{"amount":30}', '{"amount":30}'],
  });
  expect(submitted.status).toBe(200);
  await until(() => calls.includes("/TransOut")); // the first pass waits for the debit's answer
  const { owner } = (await dtx.query(gid)).transaction;

  // an hour later the first pass's lease has run out: the recovery takes the transaction over; its
  // pass runs once the first one ended, from what the store says
  const recovered = dtx.cron({ forwardMs: 3_600_000 });
  expect(owner).toBeTruthy();
  while ((await dtx.query(gid)).transaction.owner === owner);
  // the first pass hears its debit succeed; the recovery's debit is refused (no funds by then), so
  // the saga rolls back
  releaseFirstDebit();
  await recovered;
  expect(await dtx.status(gid)).toBe("failed");
  // the credit was never called, or, if it was, it is compensated as well
  const credited = calls.includes("/TransIn");
  expect(credited ? calls.includes("/TransInRevert") : true).toBe(true);
  expect(calls).toEqual(["/TransOut", "/TransOut", "/TransOutRevert"]);
});
