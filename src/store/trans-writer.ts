import type { NewBranch, TransRecord } from "../core/model";
import type { InsertedTrans, PassWrite } from "../core/repository";
import { Batcher } from "./batcher";
import type { Queryable } from "./queryable";
import { insertTrans, savePass } from "./trans-statements";

/** Group-commit settings: batches running at once per statement, and items per batch. */
export interface GroupCommitSettings {
  maxInFlight: number;
  maxBatch: number;
  /** Told each batch's statement (`insertTrans`, `savePass`) and size (metrics); must not throw. */
  onBatch?: (statement: string, size: number) => void;
  /** Gather each batch over one event-loop turn (a database in this thread: PGlite; see Batcher). */
  gatherTick?: boolean;
}

/**
 * The two writes of the hot path — a new transaction with its branches, and a pass's outcome — with
 * group commit: concurrent calls share one statement and one commit (see Batcher).
 */
export class TransWriter {
  private readonly inserts: Batcher<{ trans: TransRecord; branches: NewBranch[] }, InsertedTrans | null>;
  private readonly passes: Batcher<PassWrite, boolean>;

  constructor(db: Queryable, settings: GroupCommitSettings) {
    const { onBatch, ...sizes } = settings;
    this.inserts = new Batcher((items) => insertTrans(db, items), {
      ...sizes,
      key: (x) => x.trans.gid,
      onBatch: onBatch && ((n) => onBatch("insertTrans", n)),
    });
    this.passes = new Batcher((writes: PassWrite[]) => savePass(db, writes), {
      ...sizes,
      key: (w) => w.gid,
      onBatch: onBatch && ((n) => onBatch("savePass", n)),
    });
  }

  /** Inserts a transaction with its branches unless the gid exists (then null). */
  insert(trans: TransRecord, branches: NewBranch[]): Promise<InsertedTrans | null> {
    return this.inserts.submit({ trans, branches });
  }

  /** Writes a pass's outcome; false when its compare-and-set lost. */
  savePass(write: PassWrite): Promise<boolean> {
    return this.passes.submit(write);
  }
}
