/**
 * The SDK's errors. Each carries a `code` so that code holding two copies of the SDK (or errors that
 * crossed a process boundary) can tell them apart without `instanceof`.
 */

/**
 * The branch failed for good: a saga action that throws it makes the saga roll back; a TCC try that
 * throws it makes the global transaction abort. Branch handlers answer it as HTTP 409 / gRPC ABORTED
 * (dtm's FAILURE). The SDK throws it when a branch it called answered FAILURE.
 *
 * @example
 * if (balance < amount) throw new BranchFailure(`insufficient funds for ${user}`);
 */
export class BranchFailure extends Error {
  readonly code = "FAILURE";
  constructor(message = "FAILURE", options?: ErrorOptions) {
    super(message, options);
    this.name = "BranchFailure";
  }
}

/**
 * The branch is not done yet: the coordinator calls it again after the retry interval. Branch
 * handlers answer it as HTTP 425 / gRPC FAILED_PRECONDITION (dtm's ONGOING).
 *
 * @example
 * if (!shipment.confirmed) throw new BranchOngoing("waiting for the carrier");
 */
export class BranchOngoing extends Error {
  readonly code = "ONGOING";
  constructor(message = "ONGOING", options?: ErrorOptions) {
    super(message, options);
    this.name = "BranchOngoing";
  }
}

/**
 * A branch the SDK called itself (a TCC try, a message check-back) answered neither success,
 * FAILURE nor ONGOING: another HTTP status, another gRPC code, or no answer at all.
 *
 * @example
 * try { await tcc.callBranch(...) } catch (e) { if (isBranchCallError(e)) console.log(e.status, e.answer) }
 */
export class BranchCallError extends Error {
  readonly code = "BRANCH_CALL";
  constructor(
    /** The URL called. */
    readonly url: string,
    /** The HTTP status or the gRPC code name; undefined when no answer came. */
    readonly status: number | string | undefined,
    /** What the branch answered (the body or the gRPC message), or the network error's text. */
    readonly answer: string,
  ) {
    super(`${url} answered ${status ?? "nothing"}: ${answer}`);
    this.name = "BranchCallError";
  }
}

/**
 * The coordinator refused or failed a request. `message` says what it answered: the operation, the
 * gid, the HTTP status or gRPC code, and the coordinator's own message.
 *
 * @example
 * try { await saga.submit() } catch (e) {
 *   if (isCoordinatorError(e) && e.result === "FAILURE") console.log("rolled back:", e.answer);
 * }
 */
export class CoordinatorError extends Error {
  readonly code = "COORDINATOR";
  constructor(
    /** `submit`, `prepare`, `abort`, `registerBranch`, `newGid`. */
    readonly operation: string,
    /** The transaction's gid ("" for newGid). */
    readonly gid: string,
    /** The HTTP status, or the gRPC code name (`ABORTED`, `INVALID_ARGUMENT`, …); undefined: no answer. */
    readonly status: number | string | undefined,
    /** dtm's verdict when the answer carries one. */
    readonly result: "FAILURE" | "ONGOING" | undefined,
    /** The coordinator's message (or the network error's text). */
    readonly answer: string,
  ) {
    const verdict = result ? ` ${result}` : "";
    super(
      `coordinator answered ${operation} of ${JSON.stringify(gid)} with ${status ?? "nothing"}${verdict}: ${answer}`,
    );
    this.name = "CoordinatorError";
  }
}

/**
 * A barrier call found its operation already recorded for a message's local transaction (dtm's
 * ErrDuplicated): the check-back ran first and decided the message fails, or the local transaction
 * ran before. The business function was not run.
 *
 * @example
 * await msg.doAndSubmit(qp, pool, debit).catch((e) => { if (isDuplicated(e)) return; throw e; });
 */
export class Duplicated extends Error {
  readonly code = "DUPLICATED";
  constructor(message = "DUPLICATED") {
    super(message);
    this.name = "Duplicated";
  }
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === code;
}

/** Whether `err` is a {@link BranchFailure} (by its code). @example if (isBranchFailure(e)) … */
export const isBranchFailure = (err: unknown): err is BranchFailure => hasCode(err, "FAILURE");
/** Whether `err` is a {@link BranchOngoing} (by its code). @example if (isBranchOngoing(e)) … */
export const isBranchOngoing = (err: unknown): err is BranchOngoing => hasCode(err, "ONGOING");
/** Whether `err` is a {@link BranchCallError}. @example if (isBranchCallError(e)) console.log(e.status) */
export const isBranchCallError = (err: unknown): err is BranchCallError => hasCode(err, "BRANCH_CALL");
/** Whether `err` is a {@link CoordinatorError}. @example if (isCoordinatorError(e)) console.log(e.answer) */
export const isCoordinatorError = (err: unknown): err is CoordinatorError => hasCode(err, "COORDINATOR");
/** Whether `err` is a {@link Duplicated}. @example if (isDuplicated(e)) return; */
export const isDuplicated = (err: unknown): err is Duplicated => hasCode(err, "DUPLICATED");
