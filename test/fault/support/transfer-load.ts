import { request } from "undici";

/** One transfer as submitted: a saga debiting `from` and crediting `to`. */
export interface Transfer {
  from: string;
  to: string;
  amount: number;
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Bank transfers submitted as sagas by `concurrency` clients, as fast as the coordinators take them,
 * each to one of the live coordinators (round robin). Every gid tried is kept with its transfer;
 * those answered 200 are acknowledged. A failed request (a killed coordinator, the database away)
 * is counted and the client moves on after a short pause; it is never retried with the same gid, so
 * an unacknowledged gid may or may not exist afterwards.
 */
export class TransferLoad {
  readonly tried = new Map<string, Transfer>();
  readonly acknowledged = new Set<string>();
  /** Error answers and failed requests, by HTTP status or error code. */
  readonly errors = new Map<string, number>();
  private targets: string[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private seq = 0;
  private turn = 0;
  private readonly random: () => number;

  constructor(
    private readonly run: string,
    private readonly bankBase: string,
    private readonly accounts: string[],
    seed: number,
  ) {
    this.random = prng(seed);
  }

  /** Starts (or resumes) `concurrency` clients against `targets` (coordinator base URLs). */
  start(targets: string[], concurrency: number): void {
    this.targets = targets;
    this.running = true;
    this.workers = Array.from({ length: concurrency }, () => this.client());
  }

  /** Stops the clients; resolves when every request they had out has ended. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Changes where requests go (a coordinator killed or restarted). */
  retarget(targets: string[]): void {
    this.targets = targets;
  }

  /** Runs until `ms` have passed or `count` more transfers were acknowledged. */
  async until(opts: { ms?: number; acknowledged?: number }): Promise<void> {
    const start = Date.now();
    const goal = this.acknowledged.size + (opts.acknowledged ?? Infinity);
    while (Date.now() - start < (opts.ms ?? Infinity) && this.acknowledged.size < goal) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  get errorCount(): number {
    return [...this.errors.values()].reduce((a, b) => a + b, 0);
  }

  private async client(): Promise<void> {
    while (this.running) {
      const target = this.targets[this.turn++ % this.targets.length];
      const gid = `${this.run}-${++this.seq}`;
      const t = this.transfer();
      this.tried.set(gid, t);
      const outcome = await this.submit(target, gid, t);
      if (outcome === "ok") this.acknowledged.add(gid);
      else {
        this.errors.set(outcome, (this.errors.get(outcome) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  private transfer(): Transfer {
    const n = this.accounts.length;
    const i = Math.floor(this.random() * n);
    const j = (i + 1 + Math.floor(this.random() * (n - 1))) % n;
    return { from: this.accounts[i], to: this.accounts[j], amount: 1 + Math.floor(this.random() * 10) };
  }

  private async submit(base: string, gid: string, t: Transfer): Promise<string> {
    const body = JSON.stringify({
      gid,
      trans_type: "saga",
      steps: [
        { action: `${this.bankBase}/TransOut`, compensate: `${this.bankBase}/TransOutRevert` },
        { action: `${this.bankBase}/TransIn`, compensate: `${this.bankBase}/TransInRevert` },
      ],
      payloads: [
        JSON.stringify({ user: t.from, amount: t.amount }),
        JSON.stringify({ user: t.to, amount: t.amount }),
      ],
    });
    try {
      const res = await request(`${base}/api/dtmsvr/submit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      await res.body.dump();
      return res.statusCode === 200 ? "ok" : `HTTP ${res.statusCode}`;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? (err as Error).name;
    }
  }
}
