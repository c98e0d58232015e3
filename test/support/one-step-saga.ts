import type { BranchServices } from "./branch-services";

/** dtm's submit body of a one-step saga whose action is `rm`'s route `action` (compensation: TransOutRevert). */
export function oneStepSaga(
  rm: BranchServices,
  gid: string,
  action: string,
  extra: Record<string, unknown> = {},
) {
  return {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url(action), compensate: rm.url("TransOutRevert") }],
    payloads: ["{}"],
    ...extra,
  };
}
