import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";

const ROOT = join(__dirname, "..", "..");

/**
 * The real entry point (src/server/main.ts) in a child process, configured through DTX_* variables,
 * so tests can kill it the hard way. Resolves once it logged "dtx started" with its port.
 */
export class CoordinatorProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    private readonly exited: Promise<number | null>,
    /** Its log lines so far (pino JSON). */
    readonly logs: Record<string, unknown>[],
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * `group`: the process leads a process group of its own (its workers join it), so a test can signal
   * the whole group as a terminal's Ctrl-C does. `nice`: started as `nice -n <nice>` starts a command
   * (which execs it: the child's pid is the coordinator's).
   */
  static async start(
    env: Record<string, string>,
    args: string[] = [],
    { group = false, nice = 0 } = {},
  ): Promise<CoordinatorProcess> {
    const logs: Record<string, unknown>[] = [];
    const node = [
      process.execPath,
      "-r",
      join(ROOT, "test/support/ts-require.js"),
      join(ROOT, "src/server/main.ts"),
    ];
    const [file, ...argv] = [...(nice ? ["nice", "-n", String(nice)] : []), ...node, ...args];
    const child = spawn(file!, argv, {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: "",
        DTX_LOG_LEVEL: "info",
        DTX_SERVER_HOST: "127.0.0.1",
        DTX_SERVER_PORTS: "0",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: group,
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`coordinator did not start: ${stderr}`));
      }, 120_000);
      createInterface({ input: child.stdout! }).on("line", (line) => {
        try {
          const entry = JSON.parse(line) as { message?: string; ports?: number[] };
          logs.push(entry);
          if (entry.message === "dtx started" && entry.ports) {
            clearTimeout(timer);
            resolve(entry.ports[0]!);
          }
        } catch {
          // not a log line
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`coordinator exited with ${code}: ${stderr}`));
      });
    });
    return new CoordinatorProcess(child, port, exited, logs);
  }

  /** Kills the process without any chance to clean up (a crash). */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** Resolves with the exit code once the process has exited (however it was asked to). */
  exitCode(): Promise<number | null> {
    return this.exited;
  }

  /** Asks for a graceful stop; resolves with the exit code. */
  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    return this.exited;
  }
}

/**
 * Runs src/server/main.ts with `env` (and `args`) until it exits; its exit code and stderr. Loopback
 * and port 0 unless `env` says otherwise.
 */
export function runToExit(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ["-r", join(ROOT, "test/support/ts-require.js"), join(ROOT, "src/server/main.ts"), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: "", DTX_SERVER_HOST: "127.0.0.1", DTX_SERVER_PORTS: "0", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}
