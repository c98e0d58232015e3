import { randomBytes } from "node:crypto";
import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "dtx.lock";

/** A lock file nobody can read is a crash between its creation and its content once it is this old. */
const UNREADABLE_STALE_MS = 5000;

/** The nonces of the locks this process holds: its own pid in a lock file is stale only without one. */
const heldHere = new Set<string>();

/** What a lock file records about its holder (JSON). */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the holder took the lock. */
  since: string;
  /** Tells two locks of the same pid apart (a stale lock from before a restart). */
  nonce: string;
}

/** The data directory is held by a live process; the message names the directory and the holder. */
export class DataDirInUse extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder | null,
    readonly file: string,
  ) {
    super(
      holder
        ? `store.dataDir ${dir} is in use by process ${holder.pid} on ${holder.host} since ${holder.since} ` +
            `(lock file ${file}); stop that process or choose another directory`
        : `store.dataDir ${dir} is locked by ${file}, which cannot be read; remove it if no dtx uses the directory`,
    );
    this.name = "DataDirInUse";
  }
}

/**
 * An exclusive lock on an embedded database's directory: a lock file created with O_EXCL holding the
 * holder's pid. PGlite is a single-process database: two processes writing one directory corrupt it,
 * so the second one must fail at start. A lock whose process is gone (a crash, kill -9) is stale and is
 * taken over; liveness is only known on the holder's host, so a lock from another host is never taken.
 */
export class DataDirLock {
  private released = false;

  private constructor(
    readonly file: string,
    private readonly content: string,
    private readonly nonce: string,
  ) {}

  /** Takes the lock of `dir` (which must exist). @throws DataDirInUse when a live process holds it */
  static take(dir: string): DataDirLock {
    const file = join(dir, LOCK_FILE);
    const mine: LockHolder = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      nonce: randomBytes(8).toString("hex"),
    };
    const content = JSON.stringify(mine) + "\n";
    // a few rounds: each lost race against another starting process reads the lock again
    for (let round = 0; round < 5; round++) {
      if (create(file, content)) {
        heldHere.add(mine.nonce);
        return new DataDirLock(file, content, mine.nonce);
      }
      const seen = read(file);
      if (seen === undefined) continue; // removed meanwhile: try again
      const holder = parseHolder(seen);
      if (holder ? !isStale(holder) : !unreadableAndOld(file)) throw new DataDirInUse(dir, holder, file);
      removeIfUnchanged(file, seen);
    }
    throw new DataDirInUse(dir, parseHolder(read(file) ?? ""), file);
  }

  /** Removes the lock file if it is still this process's. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.nonce);
    if (read(this.file) === this.content) unlinkQuietly(this.file);
  }
}

/** Creates the file with `content` unless it exists; true when created. */
function create(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== "number" || typeof h.host !== "string") return null;
    return { pid: h.pid, host: h.host, since: String(h.since ?? "?"), nonce: String(h.nonce ?? "") };
  } catch {
    return null; // a lock file cut short by a crash between create and write
  }
}

/**
 * Whether the holder is gone: same host, and its pid is no process — or is this process without
 * holding that lock (in a container, a restarted dtx often gets the pid of the one that died).
 */
function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (holder.pid === process.pid) return !heldHere.has(holder.nonce);
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
  return isZombie(holder.pid);
}

/**
 * Whether `pid` has exited but not been reaped (Linux: state `Z` in /proc/<pid>/stat). A dtx killed
 * with -9 stays such a zombie until its parent (or an init that reaps slowly, or never, in a container)
 * collects it; signals still "reach" it, yet it holds nothing. Elsewhere: false.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "<pid> (<command, may hold spaces and parentheses>) <state> ..."
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z";
  } catch {
    return false;
  }
}

function unreadableAndOld(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > UNREADABLE_STALE_MS;
  } catch {
    return false;
  }
}

/**
 * Removes the stale lock `seen` — and nothing else. It is renamed aside first (atomic) and checked: if
 * another starting process replaced it with its own lock meanwhile, that lock is put back.
 */
function removeIfUnchanged(file: string, seen: string): void {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (read(aside) !== seen) {
    try {
      linkSync(aside, file); // fails only if yet another lock appeared: that one stands
    } catch {
      // nothing to restore over
    }
  }
  unlinkQuietly(aside);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // gone already
  }
}
