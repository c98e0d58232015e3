import { Code, ConnectError } from "@connectrpc/connect";

/** How many submits may drive passes at once, and how many may wait for one to end (ms for the wait). */
export interface AdmissionLimits {
  /** Submits whose passes run at once; more wait in the queue. */
  maxInFlight: number;
  /** Submits that may wait; one more is refused at once. */
  maxQueued: number;
  /** How long a submit waits in the queue before it is refused. */
  maxWaitMs: number;
}

/** No limit (tests and embedders that build an engine by hand). */
export const UNLIMITED: AdmissionLimits = { maxInFlight: Infinity, maxQueued: 0, maxWaitMs: 0 };

/** The answer to a submit the coordinator has no room for: RESOURCE_EXHAUSTED (HTTP 503 with Retry-After). */
export function overloaded(why: string): ConnectError {
  return new ConnectError(`overloaded: ${why}; nothing was written, retry later`, Code.ResourceExhausted);
}

/**
 * Admission control of the submit path: at most `maxInFlight` submits drive a pass at once; the next
 * `maxQueued` wait (first come, first served) until one ends, for at most `maxWait`; beyond that a
 * submit is refused at once. Memory stays bounded however fast clients send; a refused submit has
 * written nothing. `saturated` tells the recovery worker to leave the room to submits.
 */
export class Admission {
  private active = 0;
  private readonly queue: Array<{ admit: () => void }> = [];

  constructor(private readonly limits: AdmissionLimits) {}

  /** Whether submits are waiting or every slot is taken. */
  get saturated(): boolean {
    return this.queue.length > 0 || this.active >= this.limits.maxInFlight;
  }

  /** Submits waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** A slot for one submit, once there is room; rejects with `overloaded` when there is none in time. */
  async enter(): Promise<AdmissionSlot> {
    if (this.queue.length === 0 && this.active < this.limits.maxInFlight) {
      this.active++;
      return new AdmissionSlot(() => this.leave());
    }
    const { maxInFlight, maxQueued, maxWaitMs } = this.limits;
    if (this.queue.length >= maxQueued) {
      throw overloaded(`${maxInFlight} submits in flight and ${maxQueued} waiting (admission.maxQueued)`);
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        reject(overloaded(`no submit slot freed within ${maxWaitMs} ms (admission.maxWait)`));
      }, maxWaitMs);
      this.queue.push(waiter);
    });
    return new AdmissionSlot(() => this.leave());
  }

  /** A slot ends: the first waiter takes it over, or it is free. */
  private leave(): void {
    const next = this.queue.shift();
    if (next) next.admit();
    else this.active--;
  }
}

/** One admitted submit's slot, freed once the pass it started has ended. */
export class AdmissionSlot {
  private done = false;

  constructor(private readonly free: () => void) {}

  /** Frees the slot when `pass` settles (at once if it has). */
  freeAfter(pass: Promise<unknown>): void {
    void pass.finally(() => this.free_());
  }

  /** Frees the slot now (the submit failed before it started a pass); idempotent. */
  freeNow(): void {
    this.free_();
  }

  private free_(): void {
    if (this.done) return;
    this.done = true;
    this.free();
  }
}
