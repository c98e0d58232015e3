import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DataDirInUse, DataDirLock, LOCK_FILE } from "../../src/store/data-dir-lock";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "dtx-lock-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!;
}

function writeLock(holder: object): void {
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holder));
}

test("the lock file records this process; release removes it", () => {
  const lock = DataDirLock.take(dir);
  const holder = JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8"));
  expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
  lock.release();
  expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
});

test("a live holder keeps the directory: the error names the directory, the pid and the lock file", () => {
  // the parent of this test process is alive for sure
  writeLock({ pid: process.ppid, host: hostname(), since: "2030-01-01T00:00:00.000Z", nonce: "x" });
  let err: unknown;
  try {
    DataDirLock.take(dir);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataDirInUse);
  expect((err as Error).message).toBe(
    `store.dataDir ${dir} is in use by process ${process.ppid} on ${hostname()} since ` +
      `2030-01-01T00:00:00.000Z (lock file ${join(dir, LOCK_FILE)}); stop that process or choose another directory`,
  );
});

test("a lock whose process is gone is taken over", () => {
  const pid = deadPid();
  writeLock({ pid, host: hostname(), since: "2030-01-01T00:00:00.000Z", nonce: "old" });
  const lock = DataDirLock.take(dir);
  expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
  lock.release();
});

test("a lock whose process has exited but is not reaped yet (a zombie after kill -9) is taken over", async () => {
  // sh starts `sleep 0` in the background and becomes `sleep 5`, which never reaps it
  const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 5"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  try {
    const pid = Number(
      await new Promise<string>((resolve) =>
        parent.stdout.once("data", (d: Buffer) => resolve(d.toString())),
      ),
    );
    const state = () => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0];
    for (let i = 0; i < 200 && state() !== "Z"; i++) await new Promise((r) => setTimeout(r, 10));
    expect(state()).toBe("Z");
    writeLock({ pid, host: hostname(), since: "2030-01-01T00:00:00.000Z", nonce: "old" });
    const lock = DataDirLock.take(dir);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).pid).toBe(process.pid);
    lock.release();
  } finally {
    parent.kill("SIGKILL");
  }
});

test("a lock left with this process's pid (a restart in a container reuses pids) is stale", () => {
  writeLock({ pid: process.pid, host: hostname(), since: "2030-01-01T00:00:00.000Z", nonce: "old" });
  const lock = DataDirLock.take(dir);
  expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).nonce).not.toBe("old");
  lock.release();
});

test("a lock from another host is never taken: its process cannot be checked from here", () => {
  writeLock({ pid: deadPid(), host: `not-${hostname()}`, since: "2030-01-01T00:00:00.000Z", nonce: "x" });
  expect(() => DataDirLock.take(dir)).toThrow(/is in use by process \d+ on not-/);
});

test("a second lock in the same process is refused", () => {
  const lock = DataDirLock.take(dir);
  expect(() => DataDirLock.take(dir)).toThrow(`is in use by process ${process.pid}`);
  lock.release();
  DataDirLock.take(dir).release();
});

test("release leaves a lock file that is not its own", () => {
  const lock = DataDirLock.take(dir);
  writeLock({ pid: process.ppid, host: hostname(), since: "2030-01-01T00:00:00.000Z", nonce: "other" });
  lock.release();
  expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8")).nonce).toBe("other");
});

test("an unreadable lock file is reported while fresh, taken over once old (a crash cut it short)", () => {
  const file = join(dir, LOCK_FILE);
  writeFileSync(file, '{"pid": 12');
  expect(() => DataDirLock.take(dir)).toThrow(/is locked by .*dtx\.lock, which cannot be read/);
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  DataDirLock.take(dir).release();
});
