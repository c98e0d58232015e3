import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * PGlite's initdb costs seconds (2.7 s a database on a busy 2-core machine, 0.5 s to copy and open
 * an initialised one), and a PGlite test file opens one or more databases. So `npm test` on PGlite
 * runs initdb once, in jest's globalSetup, into a template directory; each test database is then a
 * copy of it, in a directory of its own. Everything lives below one folder, removed by globalTeardown;
 * the folder's name holds the pid of the run, so a run that never reached its teardown (killed,
 * crashed) leaves a folder the next run removes.
 */
const ROOT = "DTX_TEST_PGLITE_ROOT";
const PREFIX = "dtx-test-pglite-";

/** A fresh PGlite data directory copied from the template, or `memory://` when there is no template. */
export function pgliteDataDir(): string {
  const root = process.env[ROOT];
  if (!root) return "memory://";
  const dir = mkdtempSync(join(root, "db-"));
  cpSync(join(root, "template"), dir, { recursive: true });
  return dir;
}

/** Removes a directory made by {@link pgliteDataDir} (nothing for `memory://`). */
export function removePgliteDataDir(dir: string): void {
  if (process.env[ROOT] && dir.startsWith(process.env[ROOT]!)) rmSync(dir, { recursive: true, force: true });
}

/** jest globalSetup: the template (only when the tests run on PGlite, i.e. without DTX_TEST_DATABASE_URL). */
export async function createTemplate(): Promise<void> {
  if (process.env.DTX_TEST_DATABASE_URL) return;
  removeFoldersOfEndedRuns();
  const root = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    mkdirSync(join(root, "template"));
    const db = await PGlite.create(join(root, "template"));
    await db.close();
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  process.env[ROOT] = root; // the workers, started after this, inherit it
}

/** Removes the folders of earlier runs whose process is gone. */
function removeFoldersOfEndedRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid && !alive(Number(pid))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** jest globalTeardown: removes the template and every copy. */
export async function removeTemplate(): Promise<void> {
  const root = process.env[ROOT];
  if (root) rmSync(root, { recursive: true, force: true });
}
