import { spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** What one `dtx` command did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `dtx` command line (src/cli/dtx.ts) with `args` and `env` until it exits. `closeStdout`
 * closes the reading end of its stdout at once, as `dtx … | head -1` does once it has its line.
 */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  { closeStdout = false } = {},
): Promise<CliRun> {
  const base: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: "" };
  delete base.DTX_URL;
  delete base.DTX_ADMIN_TOKEN;
  const child = spawn(
    process.execPath,
    ["-r", join(ROOT, "test/support/ts-require.js"), join(ROOT, "src/cli/dtx.ts"), ...args],
    {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  if (closeStdout) child.stdout!.destroy();
  else child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
