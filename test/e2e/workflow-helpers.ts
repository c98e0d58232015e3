/**
 * Shared helpers of the workflow end-to-end tests (scenarios 53–59 of §10.3). Not a test file.
 */
import type { TestCoordinator } from "../support/coordinator";
import type { DtmProgressesReply } from "../../gen/dtmgimp/dtmgimp_pb";
import { WfError, type WorkflowClient } from "../support/workflow-client";

/** A cron that reaches a fresh workflow (first resumed one retry interval after its creation). */
export const RESUME = { lookAheadMs: 1_000_000 };

/** The WfError a workflow run ends with; fails the test when it succeeds or throws anything else. */
export async function failureOf(p: Promise<unknown>): Promise<WfError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WfError) return e;
    throw e;
  }
  throw new Error("the workflow did not fail");
}

/** `[branch_id, op, status]` of each stored row (a workflow's recorded progress), in order. */
export async function progressRows(
  dtx: TestCoordinator,
  gid: string,
): Promise<Array<[string, string, string]>> {
  return (await dtx.query(gid)).branches.map((b) => [b.branch_id, b.op, b.status]);
}

/** The last prepareWorkflow answer the client got for `gid` (a cron resumes every due workflow). */
export function lastReply(client: WorkflowClient, gid: string): DtmProgressesReply {
  const reply = client.replies.filter((r) => r.Transaction?.Gid === gid).at(-1);
  if (!reply) throw new Error(`no prepareWorkflow answer for ${gid}`);
  return reply;
}
