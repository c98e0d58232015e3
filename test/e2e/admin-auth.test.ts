/**
 * The admin service's guard: with tokens configured every admin call needs one (REST, Connect, gRPC),
 * refusals are logged, each operator action writes an audit line naming the token and is recorded on the
 * transaction — while dtm's API stays open, as dtm's SDKs send no credentials.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { request } from "undici";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { createLogger } from "../../src/server/logger";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { submitStuckSaga } from "../support/stuck-saga";

const ALICE = "alice-token-0123456789abcdef";
const BOB = "bob-token-0123456789abcdef01";
let dir: string;
let dtx: TestCoordinator;
let rm: BranchServices;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dtx-auth-"));
  const tokenFile = join(dir, "tokens");
  writeFileSync(tokenFile, `# operators\nalice ${ALICE}\n\nbob ${BOB}\n`);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  dtx = await TestCoordinator.start({ admin: { tokenFile } }, undefined, {
    logger: createLogger("info", sink),
  });
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function rest(method: string, path: string, token?: string) {
  const res = await request(dtx.base + path, {
    method: method as "GET",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: method === "POST" ? "{}" : undefined,
  });
  return { status: res.statusCode, body: (await res.body.json()) as any };
}

/** A saga stuck retrying: its second branch keeps erring. */
const stuckSaga = (gid: string) => submitStuckSaga(dtx, rm, gid);

test("the admin REST API refuses a missing or wrong token with 401 and logs the refusal", async () => {
  const missing = await rest("GET", "/v1/admin/transactions");
  expect(missing.status).toBe(401);
  expect(missing.body.message).toBe(
    "the admin API needs a valid token: send the header authorization: Bearer <admin.token>",
  );
  expect((await rest("GET", "/v1/admin/transactions", "x".repeat(28))).status).toBe(401);
  expect((await rest("GET", "/v1/admin/transactions", ALICE)).status).toBe(200);
  expect(logs.filter((l) => l.auth === "refused").map((l) => l.action)).toEqual([
    "ListTransactions",
    "ListTransactions",
  ]);
});

test("Connect and gRPC clients need the token as well", async () => {
  const sessions = new Http2SessionManager(dtx.base);
  try {
    for (const transport of [
      createConnectTransport({ baseUrl: dtx.base, httpVersion: "1.1" }),
      createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
    ]) {
      const admin = createClient(AdminService, transport);
      const refused = await admin.listTransactions({}).catch((e: unknown) => ConnectError.from(e));
      expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
      const page = await admin.listTransactions({}, { headers: { authorization: `Bearer ${BOB}` } });
      expect(Array.isArray(page.transactions)).toBe(true);
    }
  } finally {
    sessions.abort();
  }
});

test("dtm's API stays open: a saga is submitted and queried without any token", async () => {
  await stuckSaga("open-1");
  const all = await dtx.get("/api/dtmsvr/all");
  expect(all.status).toBe(200);
});

test("a force-stop names the operator on the transaction and in an audit line", async () => {
  await stuckSaga("stop-1");
  const refused = await rest("POST", "/v1/admin/transactions/stop-1:forceStop");
  expect(refused.status).toBe(401);
  expect(await dtx.status("stop-1")).toBe("submitted");

  const stopped = await rest("POST", "/v1/admin/transactions/stop-1:forceStop", ALICE);
  expect(stopped.status).toBe(200);
  expect(stopped.body.transaction.status).toBe("TRANSACTION_STATUS_FAILED");
  const { transaction } = await dtx.query("stop-1");
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toBe("force stopped by operator alice");

  const again = await rest("POST", "/v1/admin/transactions/stop-1:forceStop", BOB);
  expect(again.status).toBe(400);
  const audit = logs.filter((l) => l.audit === true);
  expect(audit.map(({ action, gid, token, outcome }) => ({ action, gid, token, outcome }))).toEqual([
    { action: "ForceStop", gid: "stop-1", token: "alice", outcome: "ok" },
    { action: "ForceStop", gid: "stop-1", token: "bob", outcome: "FailedPrecondition" },
  ]);
  for (const line of audit) expect(Date.parse(line.at as string)).not.toBeNaN();
});
