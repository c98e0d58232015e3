/**
 * Shared helpers of the workflow end-to-end tests (scenarios 53–59 of §10.3). Not a test file.
 */
import type { BranchServices } from "../support/branch-services";
import type { TestCoordinator } from "../support/coordinator";
import type { DtmProgressesReply } from "../../gen/dtmgimp/dtmgimp_pb";
import { WfError, type WorkflowClient } from "../support/workflow-client";
import { callsOf, summary } from "./saga-helpers";

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

/**
 * Scenario 53, TCC style (two tries, each with a confirm as its commit op), after the workflow ran:
 * succeed; the tries recorded, then the confirms, last first; the branch calls in that order.
 */
export async function expectTccStyleCommitted(dtx: TestCoordinator, rm: BranchServices, gid: string) {
  expect(await dtx.status(gid)).toBe("succeed");
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "succeed"],
    ["02", "commit", "succeed"],
    ["01", "commit", "succeed"],
  ]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOutTry", "action", "01"],
    ["TransInTry", "action", "02"],
    ["TransInConfirm", "commit", "02"],
    ["TransOutConfirm", "commit", "01"],
  ]);
}

/**
 * Scenario 54, a transfer (TransOut, then TransIn) whose TransIn FAILed: the debit's rollback
 * recorded and called; the failed branch itself is not compensated (dtm's default).
 */
export async function expectTransInFailureRolledBack(dtx: TestCoordinator, rm: BranchServices, gid: string) {
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "failed"],
    ["01", "rollback", "succeed"],
  ]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransOutRevert", "rollback", "01"],
  ]);
}
