/**
 * Group commit: coalesces concurrent calls into one statement. A call runs at once while fewer than
 * `maxInFlight` batches are running; calls that arrive while all are busy wait and go together in
 * the next batch (at most `maxBatch`). So a lone call pays no extra latency (with `gatherTick`, only
 * the rest of the current event-loop turn), and under load one commit carries many transactions.
 */
export interface BatcherOptions<I> {
  maxInFlight: number;
  maxBatch: number;
  /** Items with equal keys never share a batch (a statement must not touch one row twice). */
  key?: (item: I) => string;
  /** Told the size of each batch as it starts (metrics); must not throw. */
  onBatch?: (size: number) => void;
  /**
   * Start a batch only after the current turn of the event loop, so every call made in it joins
   * (the coordinator's setting). PGlite runs its statements synchronously in this thread: without
   * the wait no call could arrive while one is in flight, and every batch would carry one item. On
   * Postgres the wait costs a lone call microseconds and cuts statements and commits per saga
   * several-fold under load (bench/README.md).
   */
  gatherTick?: boolean;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class Batcher<I, O> {
  private queue: Waiting<I, O>[] = [];
  private inFlight = 0;
  private gathering = false;

  /** `run` answers one output per item, in order. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly opts: BatcherOptions<I>,
  ) {}

  /** Resolves with this item's output once the batch carrying it has committed. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.opts.gatherTick) {
      if (this.gathering || this.inFlight >= this.opts.maxInFlight || this.queue.length === 0) return;
      this.gathering = true;
      setImmediate(() => {
        this.gathering = false;
        this.startBatches();
      });
      return;
    }
    this.startBatches();
  }

  private startBatches(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.take();
      this.opts.onBatch?.(batch.length);
      this.inFlight++;
      void this.execute(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** The next batch: the oldest items, skipping (for a later batch) any whose key is taken. */
  private take(): Waiting<I, O>[] {
    const { key, maxBatch } = this.opts;
    if (!key) return this.queue.splice(0, maxBatch);
    const batch: Waiting<I, O>[] = [];
    const keys = new Set<string>();
    const rest: Waiting<I, O>[] = [];
    for (const w of this.queue) {
      const k = key(w.item);
      if (batch.length < maxBatch && !keys.has(k)) {
        keys.add(k);
        batch.push(w);
      } else {
        rest.push(w);
      }
    }
    this.queue = rest;
    return batch;
  }

  private async execute(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outs = await this.run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(outs[i]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      // one bad item must not fail the others: retry each on its own
      await Promise.all(batch.map((w) => this.execute([w])));
    }
  }
}
