import type { Coordinator } from "./coordinator";
import { wireOptions, type TransOptions } from "./options";

/** What a TCC or XA transaction's function resolved with, and the transaction's gid. @example const { gid, result } = await dtx.xa(fn) */
export interface TwoPhaseResult<T> {
  gid: string;
  result: T;
}

/**
 * Runs a TCC or XA global transaction: prepare, `fn` (given the gid and the branch headers), then
 * submit; when `fn` throws, abort (the coordinator cancels or rolls back every registered branch)
 * and rethrow `fn`'s error.
 *
 * @internal use {@link Coordinator.tcc} or {@link Coordinator.xa}
 */
export async function runTwoPhase<T>(
  coordinator: Coordinator,
  transType: "tcc" | "xa",
  fn: (gid: string, headers: Record<string, string>) => Promise<T>,
  options: TransOptions,
): Promise<TwoPhaseResult<T>> {
  const gid = coordinator.gidOf(options);
  const wire = wireOptions(options);
  const request = { gid, transType, options: wire };
  await coordinator.transport.call("prepare", request);
  let result: T;
  try {
    result = await fn(gid, wire.branchHeaders ?? {});
  } catch (err) {
    const reason = ((err as Error)?.message ?? String(err)).slice(0, 1000);
    try {
      await coordinator.transport.call("abort", { ...request, rollbackReason: reason });
    } catch (abortError) {
      const undo = transType === "tcc" ? "cancels" : "rolls back";
      throw new AggregateError(
        [err, abortError],
        `${transType} ${gid}: ${reason}; the abort failed too (the coordinator ${undo} the branches at timeoutToFail): ${(abortError as Error).message}`,
      );
    }
    throw err;
  }
  await coordinator.transport.call("submit", request);
  return { gid, result };
}
