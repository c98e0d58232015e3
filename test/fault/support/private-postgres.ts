import { execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A Postgres cluster of this test's own (initdb in a temporary directory, a free loopback port), so it
 * can be restarted under load without touching the machine's shared server. Runs the server as the
 * `postgres` user (initdb refuses root).
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    private readonly bin: string,
  ) {}

  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<PrivatePostgres> {
    const bin = serverBin();
    const dir = mkdtempSync(join(tmpdir(), "dtx-fault-pg-"));
    chownSync(dir, uid("postgres"), gid("postgres"));
    const pg = new PrivatePostgres(dir, await freePort(), bin);
    pg.asPostgres("initdb", ["-D", pg.data, "-A", "trust", "-U", "postgres", "--no-sync"]);
    pg.ctl(["start", "-w", "-t", "60", "-l", join(dir, "log")]);
    return pg;
  }

  private get data(): string {
    return join(this.dir, "data");
  }

  /**
   * `pg_ctl restart -m fast`: every connection is cut, and the server is back once this resolves. Runs
   * without blocking this process, so the load it is under goes on meanwhile.
   */
  restart(): Promise<void> {
    const child = spawn(
      "runuser",
      [
        "-u",
        "postgres",
        "--",
        join(this.bin, "pg_ctl"),
        "-D",
        this.data,
        "-o",
        this.options,
        "restart",
      ].concat(["-m", "fast", "-w", "-t", "60"]),
      { stdio: "ignore" },
    );
    return new Promise((resolve, reject) =>
      child.once("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`pg_ctl restart exited ${code}`)),
      ),
    );
  }

  private get options(): string {
    return `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  }

  /** Stops the server and removes its directory. */
  stop(): void {
    try {
      this.ctl(["stop", "-m", "immediate", "-w", "-t", "60"]);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private ctl(args: string[]): void {
    this.asPostgres("pg_ctl", ["-D", this.data, "-o", this.options, ...args]);
  }

  private asPostgres(tool: string, args: string[]): void {
    // no pipes: the server pg_ctl starts would inherit them and keep this call waiting until it exits
    try {
      execFileSync("runuser", ["-u", "postgres", "--", join(this.bin, tool), ...args], { stdio: "ignore" });
    } catch (err) {
      const log = join(this.dir, "log");
      const tail = existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "";
      throw new Error(`${tool} ${args.join(" ")} failed: ${(err as Error).message}\n${tail}`);
    }
  }
}

/** The newest installed server's bin directory (Debian's layout, /usr/lib/postgresql/<major>/bin). */
function serverBin(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = majors.map((m) => join(root, m, "bin")).find((b) => existsSync(join(b, "initdb")));
  if (!found)
    throw new Error("no Postgres server binaries under /usr/lib/postgresql (.ci/run installs them)");
  return found;
}

function uid(user: string): number {
  return Number(execFileSync("id", ["-u", user]).toString().trim());
}

function gid(user: string): number {
  return Number(execFileSync("id", ["-g", user]).toString().trim());
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
