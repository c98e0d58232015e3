/**
 * The processes the bench starts (coordinator, floor, branch service, load generator). Every one is
 * registered when started and stopped at the end, on Ctrl-C and on errors; as a last resort a process
 * 'exit' hook kills whatever is still running.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { IpcMessage } from "./ipc";

const live = new Set<Child>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/** A started process, with its output forwarded to stderr prefixed by its name. */
export class Child {
  private readonly exited: Promise<string>;
  private exitedYet = false;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readyValue: Promise<unknown>;
  private seq = 0;

  private constructor(
    /** Used in messages and as the output prefix. */
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    live.add(this);
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", (l) => console.error(`[${name}] ${l}`));
    }
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        this.exitedYet = true;
        live.delete(this);
        const why = `${name} exited (${signal ?? `code ${code}`})`;
        for (const p of this.pending.values()) p.reject(new Error(why));
        this.pending.clear();
        resolve(why);
      });
      proc.once("error", (err) => console.error(`[${name}] ${err.message}`));
    });
    this.readyValue = new Promise((resolve, reject) => {
      proc.on("message", (m: IpcMessage) => {
        if ("ready" in m) return resolve(m.ready);
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(`${name}: ${m.error}`));
        else p?.resolve(m.result);
      });
      void this.exited.then((why) => reject(new Error(why)));
    });
    // a child that dies before announcing itself is reported through ready(); don't also crash on it
    this.readyValue.catch(() => undefined);
  }

  /**
   * Runs a compiled bench module (dist/bench/<file>.js) with an IPC channel. The child gets its own
   * process group, so a Ctrl-C in the terminal reaches the bench only, which then stops it in order.
   */
  static fork(name: string, modulePath: string, env: NodeJS.ProcessEnv = process.env): Child {
    return new Child(
      name,
      fork(modulePath, [], { env, detached: true, stdio: ["ignore", "pipe", "pipe", "ipc"] }),
    );
  }

  /** Runs a command without IPC (the coordinators: they are started exactly as a user would). */
  static spawn(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
    return new Child(name, spawn(command, args, { env, detached: true, stdio: ["ignore", "pipe", "pipe"] }));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Resolves when the child has sent its `ready` message, with its payload; rejects if it exits first. */
  ready<T>(): Promise<T> {
    return this.readyValue as Promise<T>;
  }

  /** Sends a request over IPC and waits for the reply. */
  request<T>(body: unknown): Promise<T> {
    if (this.exitedYet) return Promise.reject(new Error(`${this.name} is not running`));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, body });
    });
  }

  /** Rejects (with why) when the child exits; never resolves otherwise. For racing against a wait. */
  async died(): Promise<never> {
    throw new Error(await this.exited);
  }

  /** Sends a signal if the process still runs. */
  kill(signal: NodeJS.Signals): void {
    if (!this.exitedYet) this.proc.kill(signal);
  }

  /** SIGTERM (a graceful stop), then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exitedYet) return;
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Stops every child still running, newest first. */
export async function stopAllChildren(): Promise<void> {
  for (const c of [...live].reverse()) await c.stop();
}
