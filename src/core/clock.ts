/**
 * Database time for due times, leases and timeouts. Every coordinator process anchors its clock
 * to the database server's `now()` (measured at start and re-measured periodically), so several
 * processes with skewed host clocks agree on what is due. Tests shift it with `advance()` instead of
 * waiting for real intervals.
 */
export class Clock {
  private skewMs = 0;
  private offsetMs = 0;

  /** The current database time. */
  now(): Date {
    return new Date(this.nowMs());
  }

  /** The current database time in epoch ms. */
  nowMs(): number {
    return Date.now() + this.skewMs + this.offsetMs;
  }

  /** Records the database's `now()` as measured around a round trip. */
  anchor(dbNowMs: number, sentAtMs: number, receivedAtMs: number): void {
    this.skewMs = dbNowMs - (sentAtMs + receivedAtMs) / 2;
  }

  /** Moves this process's view of time forward (tests only: "time travel"). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Undoes every `advance`. */
  resetOffset(): void {
    this.offsetMs = 0;
  }
}
