import type { NewBranch, NewTrans } from "./model";
import type { Pass } from "./pass";

/** Server limits a kind validates against. */
export interface Limits {
  maxSteps: number;
}

/**
 * One transaction kind (saga, tcc, xa, msg, workflow). The registry (registry.ts) maps
 * `trans_type` to its module; nothing else switches on the kind.
 */
export interface TransTypeModule {
  /** Checks a new transaction's definition; throws invalidArgument naming the field. */
  validate(t: NewTrans, limits: Limits): void;
  /** The branch rows stored when the transaction is created. */
  branchesOf(t: NewTrans): NewBranch[];
  /** Runs one pass: calls branches and moves statuses in memory. */
  runPass(pass: Pass): Promise<void>;
}
