/**
 * Logs: JSON lines in the pipelines' shape, each status change at info, a failing branch at warn once
 * per distinct answer (not once per retry), credential headers never written, pretty lines on request.
 */
import { Writable } from "node:stream";
import { createLogger, redactCredentials } from "../../src/server/logger";
import { BranchServices } from "../support/branch-services";
import { oneStepSaga } from "../support/one-step-saga";
import { newSchemaName, TestCoordinator } from "../support/coordinator";

const raw: string[] = [];
const lines: Array<Record<string, any>> = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split("\n").filter(Boolean)) {
      raw.push(line);
      lines.push(JSON.parse(line));
    }
    done();
  },
});

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({}, newSchemaName(), { logger: createLogger("trace", sink, "json") });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

const saga = (gid: string, action: string, extra: Record<string, unknown> = {}) =>
  oneStepSaga(rm, gid, action, extra);

test("a branch answering 500 three times logs one warn line with that answer; each status change at info", async () => {
  const gid = "logs-flaky";
  const down = { status: 500, body: '{"error":"database is down"}' };
  rm.script("Flaky", down, down, down); // then the default: success
  expect((await dtx.post("/api/dtmsvr/submit", saga(gid, "Flaky"))).status).toBe(200);
  await dtx.settled(gid);
  for (let i = 0; i < 10 && (await dtx.status(gid)) !== "succeed"; i++) {
    await dtx.cron({ forwardMs: 3_600_000 });
  }
  expect(await dtx.status(gid)).toBe("succeed");
  expect(rm.callsTo("Flaky").filter((c) => c.gid === gid)).toHaveLength(4);

  const warns = lines.filter((l) => l.level === "warn" && l.gid === gid);
  expect(warns).toHaveLength(1);
  expect(warns[0]).toMatchObject({
    service: "dtx",
    branch_id: "01",
    op: "action",
    url: rm.url("Flaky"),
    attempts: 1,
    outcome: "ERROR",
    code: "500",
    message: `branch 01 action of ${gid} answered ERROR (500)`,
  });
  expect(warns[0]!.answer).toContain("database is down");
  // each key once: pipelines such as Elasticsearch refuse a line that names a key twice
  const warnLine = raw.find((l) => l.includes('"level":"warn"') && l.includes(`"gid":"${gid}"`));
  expect(warnLine!.match(/"gid":/g)).toHaveLength(1);

  const changes = lines.filter((l) => l.level === "info" && l.gid === gid && l.to !== undefined);
  expect(changes.map((l) => l.message)).toEqual([`saga ${gid}: submitted → succeed`]);
  expect(changes[0]).toMatchObject({ kind: "saga", from: "submitted", to: "succeed" });
  expect(changes[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test("a different answer of the same branch is warned again; a rollback's changes are logged with the reason", async () => {
  const gid = "logs-two-answers";
  rm.script("Changing", { status: 500, body: "first" }, { status: 503, body: "second" }, "FAIL");
  expect((await dtx.post("/api/dtmsvr/submit", saga(gid, "Changing"))).status).toBe(200);
  await dtx.settled(gid);
  for (let i = 0; i < 10 && (await dtx.status(gid)) !== "failed"; i++) {
    await dtx.cron({ forwardMs: 3_600_000 });
  }
  const warns = lines.filter((l) => l.level === "warn" && l.gid === gid);
  expect(warns.map((w) => [w.outcome, w.code])).toEqual([
    ["ERROR", "500"],
    ["ERROR", "503"],
    ["FAILURE", "409"],
  ]);
  const changes = lines.filter((l) => l.level === "info" && l.gid === gid && l.to !== undefined);
  expect(changes.map((l) => `${l.from} → ${l.to}`)).toEqual(["submitted → aborting", "aborting → failed"]);
  expect(changes[0]!.reason).toBeTruthy();
});

test("a branch_headers authorization or cookie value never appears in any log line", async () => {
  const gid = "logs-secret";
  rm.script("Guarded", "ERR");
  const headers = { Authorization: "Bearer s3cret-token-4711", Cookie: "session=c00kie-4711" };
  const res = await dtx.post("/api/dtmsvr/submit", saga(gid, "Guarded", { branch_headers: headers }));
  expect(res.status).toBe(200);
  await dtx.settled(gid);
  await dtx.cron({ forwardMs: 3_600_000 });
  expect(await dtx.status(gid)).toBe("succeed");
  // the branch got them; the debug line of the failed call names them, without their values
  expect(rm.callsTo("Guarded").every((c) => c.headers.authorization === headers.Authorization)).toBe(true);
  const logged = lines.find((l) => l.gid === gid && l.headers !== undefined);
  expect(logged!.headers).toEqual({ Authorization: "[redacted]", Cookie: "[redacted]" });
  for (const line of raw) {
    expect(line).not.toContain("s3cret-token-4711");
    expect(line).not.toContain("c00kie-4711");
  }
});

test("log.format pretty writes one readable line per event", () => {
  const out: string[] = [];
  const pretty = new Writable({
    write(chunk, _encoding, done) {
      out.push(String(chunk));
      done();
    },
  });
  const logger = createLogger("info", pretty, "pretty");
  logger.info({ gid: "g1", authorization: "Bearer zzz-4711" }, "saga g1: submitted → succeed");
  const text = out.join("");
  expect(text).toMatch(/INFO.*saga g1: submitted → succeed/);
  expect(text).toContain('"gid":"g1"');
  expect(text).not.toContain("zzz-4711");
  expect(() => JSON.parse(text)).toThrow();
});

test("credential keys are redacted wherever they sit; a token's name (audit lines) is not", () => {
  const line = JSON.stringify({
    headers: { "X-Auth-Token": "t-4711", "x-api-key": "k-4711", "Proxy-Authorization": "Basic p-4711" },
    client_secret: "s-4711",
    token: "alice",
  });
  const out = redactCredentials(line);
  expect(out).not.toMatch(/4711/);
  expect(JSON.parse(out)).toMatchObject({ client_secret: "[redacted]", token: "alice" });
});
