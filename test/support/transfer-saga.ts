import type { BranchServices } from "./branch-services";

/**
 * dtm's submit body of the transfer saga the process tests run: TransOut then TransIn of 30 on `rm`,
 * each with its revert.
 */
export function transferSaga(rm: BranchServices, gid: string): Record<string, unknown> {
  return {
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
    ],
    payloads: ['{"amount":30}', '{"amount":30}'],
  };
}
