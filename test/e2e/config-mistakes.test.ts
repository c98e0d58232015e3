/**
 * Configuration mistakes stop the real entry point with one line on stderr naming the key, the value
 * and what would be accepted — no stack trace.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToExit } from "../support/coordinator-process";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dtx-mistakes-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each([
  [
    "a duration without a unit",
    { DTX_RETRY_INTERVAL: "10" },
    'dtx: config retry.interval (env DTX_RETRY_INTERVAL): "10" has no unit; write it with one, e.g. 10s or ' +
      "10ms (dtx would read a bare number as milliseconds, dtm as seconds)\n",
  ],
  [
    "a branch target that is neither a host nor a CIDR",
    { DTX_BRANCH_ALLOWED_TARGETS: "https://bank/" },
    'dtx: config branch.allowedTargets (env DTX_BRANCH_ALLOWED_TARGETS): "https://bank/" is neither a host ' +
      "pattern (bank, *.svc.cluster.local, host:8080) nor a CIDR (10.0.0.0/8)\n",
  ],
  [
    "listening beyond loopback without an admin token",
    { DTX_SERVER_HOST: "0.0.0.0" },
    "dtx: config server.host (env DTX_SERVER_HOST): 0.0.0.0 serves beyond this machine, so the admin API " +
      "needs a token: set admin.token (DTX_ADMIN_TOKEN, e.g. openssl rand -hex 32) or admin.tokenFile, or " +
      "listen on 127.0.0.1\n",
  ],
])(
  "%s: exit 2 and one line",
  async (_name, env, stderr) => {
    expect(await runToExit({ DTX_STORE_DATA_DIR: "memory://", ...env })).toEqual({ code: 2, stderr });
  },
  180_000,
);

test("a mistyped key in the configuration file: exit 2, one line naming the nearest key", async () => {
  const file = join(dir, "dtx.yaml");
  writeFileSync(file, "recovery:\n  pollIntervall: 2s\n");
  expect(await runToExit({ DTX_STORE_DATA_DIR: "memory://" }, ["--config", file])).toEqual({
    code: 2,
    stderr: `dtx: config file ${file}: unknown key "recovery.pollIntervall"; did you mean recovery.pollInterval?\n`,
  });
}, 180_000);
