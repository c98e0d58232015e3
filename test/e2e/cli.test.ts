/**
 * The `dtx` command line against a running coordinator: each command's table and `--json`, and the
 * documented exit codes (0 ok, 1 failed, 2 usage, 3 not found).
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { submitStuckSaga } from "../support/stuck-saga";
import { runCli } from "../support/run-cli";

const TOKEN = "cli-test-token-0123456789";
let dtx: TestCoordinator;
let rm: BranchServices;
let server: string[];

beforeAll(async () => {
  dtx = await TestCoordinator.start({ admin: { token: TOKEN } });
  rm = await BranchServices.start();
  server = ["--server", dtx.base, "--token", TOKEN];
  for (const gid of ["cli-stuck-1", "cli-stuck-2"]) {
    await submitStuckSaga(dtx, rm, gid, "bank is down\nretry later");
  }
}, 180_000);
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
});

test("list: a table with why each transaction is stuck, and --json", async () => {
  const [table, json] = await Promise.all([
    runCli(["list", ...server]),
    runCli(["list", "--json", "--status", "submitted", "--gid-prefix", "cli-stuck-", ...server]),
  ]);
  expect(table.code).toBe(0);
  const lines = table.stdout.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^GID\s+KIND\s+STATUS\s+CREATED\s+NEXT LOOK\s+LAST FAILURE$/);
  expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
    ["cli-stuck-2", "saga", "submitted"],
    ["cli-stuck-1", "saga", "submitted"],
  ]);
  expect(lines[1]).toContain("02 action: ERROR 500 bank is down retry later");
  expect(json.code).toBe(0);
  const page = JSON.parse(json.stdout);
  expect(page.transactions.map((t: any) => [t.gid, t.status])).toEqual([
    ["cli-stuck-2", "TRANSACTION_STATUS_SUBMITTED"],
    ["cli-stuck-1", "TRANSACTION_STATUS_SUBMITTED"],
  ]);
  expect(page.transactions[0].lastFailure.answer.text).toBe("bank is down\nretry later");
}, 180_000);

test("show: the branch tree with statuses, attempts and last answers; --json; exit 3 for an unknown gid", async () => {
  const [table, json, missing] = await Promise.all([
    runCli(["show", "cli-stuck-1", ...server]),
    runCli(["show", "cli-stuck-1", "--json", ...server]),
    runCli(["show", "no-such-gid", ...server]),
  ]);
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/^gid\s+cli-stuck-1\nkind\s+saga\nstatus\s+submitted\n/);
  const rows = table.stdout.split("\n\n")[1]!.trimEnd().split("\n");
  expect(rows[0]).toMatch(/^BRANCH\s+STATUS\s+ATTEMPTS\s+LAST CALL\s+LAST ANSWER\s+URL$/);
  expect(
    rows.slice(1).map((r) =>
      r
        .trimStart()
        .split(/\s{2,}/)
        .slice(0, 3),
    ),
  ).toEqual([
    ["01 ├ compensate", "prepared", "0"],
    ["└ action", "succeed", "1"],
    ["02 ├ compensate", "prepared", "0"],
    ["└ action", "prepared", "1"],
  ]);
  expect(rows[4]).toContain("ERROR 500 bank is down retry later");
  expect(json.code).toBe(0);
  const branches = JSON.parse(json.stdout).transaction.branches;
  expect(branches.map((b: any) => [b.branchId, b.op, b.attempts ?? 0])).toEqual([
    ["01", "compensate", 0],
    ["01", "action", 1],
    ["02", "compensate", 0],
    ["02", "action", 1],
  ]);
  expect(missing).toEqual({ code: 3, stdout: "", stderr: 'dtx: no transaction with gid "no-such-gid"\n' });
}, 180_000);

test("force-stop and retry: the outcome, --json, a finished transaction fails with exit 1", async () => {
  const retried = await runCli(["retry", "cli-stuck-2", ...server]);
  expect(retried).toEqual({
    code: 0,
    stdout: "cli-stuck-2: due now; the recovery worker takes it at its next poll\n",
    stderr: "",
  });
  const stopped = await runCli(["force-stop", "cli-stuck-2", "--json", ...server]);
  expect(stopped.code).toBe(0);
  expect(JSON.parse(stopped.stdout).transaction).toMatchObject({
    gid: "cli-stuck-2",
    status: "TRANSACTION_STATUS_FAILED",
    rollbackReason: "force stopped by operator admin",
  });
  expect(await dtx.status("cli-stuck-2")).toBe("failed");
  const [again, retryFinished] = await Promise.all([
    runCli(["force-stop", "cli-stuck-2", ...server]),
    runCli(["retry", "cli-stuck-2", ...server]),
  ]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/^dtx: global transaction force stop error\. status: failed/);
  expect(retryFinished).toEqual({
    code: 1,
    stdout: "",
    stderr: "dtx: transaction cli-stuck-2 is failed: there is nothing to retry\n",
  });
  const stop = await runCli(["force-stop", "cli-stuck-1", ...server]);
  expect(stop).toEqual({
    code: 0,
    stdout: "cli-stuck-1: failed (force stopped by operator admin)\n",
    stderr: "",
  });
}, 180_000);

test("usage mistakes exit 2; a wrong token or no coordinator exit 1", async () => {
  const [badStatus, noGid, badToken, noServer] = await Promise.all([
    runCli(["list", "--status", "stuck", ...server]),
    runCli(["show", ...server]),
    runCli(["list", "--server", dtx.base, "--token", "wrong-token-0123456789"]),
    runCli(["list", "--server", "http://127.0.0.1:9"]),
  ]);
  expect(badStatus).toEqual({
    code: 2,
    stdout: "",
    stderr: 'dtx: --status: "stuck" is not one of prepared, submitted, aborting, succeed, failed\n',
  });
  expect(noGid.code).toBe(2);
  expect(noGid.stderr).toBe("dtx: missing required argument 'gid'\n");
  expect(badToken.code).toBe(1);
  expect(badToken.stderr).toMatch(/^dtx: http:\/\/127\.0\.0\.1:\d+ refused the token/);
  expect(noServer).toEqual({
    code: 1,
    stdout: "",
    stderr: "dtx: cannot reach dtx at http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9\n",
  });
}, 180_000);

test("a reader that stops reading (dtx … | head) ends the command quietly, exit 0", async () => {
  const [help, list] = await Promise.all([
    runCli(["--help"], {}, { closeStdout: true }),
    runCli(["list", ...server], {}, { closeStdout: true }),
  ]);
  expect(help).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(list).toEqual({ code: 0, stdout: "", stderr: "" });
}, 180_000);
