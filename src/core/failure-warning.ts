import type { Logger } from "pino";
import type { BranchRecord } from "./model";

/** How much of a failing branch's answer a warning shows (the row keeps as much). */
const ANSWER_CHARS = 512;

/**
 * A branch's failing answer (ERROR or FAILURE) at warn, once per distinct answer: not when the branch
 * answered the same the time before (the row keeps its last answer across passes and restarts), so a
 * branch retried a hundred times with the same error logs one line. `previous` is the row's last
 * answer before this call; the row holds this call's. `logger` is the pass's, already scoped to the
 * gid (a key written twice in one JSON line is refused by pipelines such as Elasticsearch).
 */
export function warnNewFailure(
  logger: Logger,
  gid: string,
  branch: BranchRecord,
  previous: BranchRecord["lastAnswer"],
): void {
  const answer = branch.lastAnswer!;
  const text = answer.text.slice(0, ANSWER_CHARS);
  if (
    previous &&
    previous.outcome === answer.outcome &&
    previous.code === answer.code &&
    previous.text.slice(0, ANSWER_CHARS) === text
  ) {
    return;
  }
  logger.warn(
    {
      branch_id: branch.branchId,
      op: branch.op,
      url: branch.url,
      attempts: branch.attempts,
      outcome: answer.outcome,
      code: answer.code || undefined,
      answer: text,
    },
    `branch ${branch.branchId} ${branch.op} of ${gid} answered ${answer.outcome}` +
      (answer.code ? ` (${answer.code})` : ""),
  );
}
