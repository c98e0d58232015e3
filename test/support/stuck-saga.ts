import type { BranchServices } from "./branch-services";
import type { TestCoordinator } from "./coordinator";

/**
 * Submits a transfer saga whose second branch (TransIn) keeps answering 500 with `answer`, and waits
 * for its first pass: it stays `submitted`, retried later, with branch 02's last answer the error.
 */
export async function submitStuckSaga(
  dtx: TestCoordinator,
  rm: BranchServices,
  gid: string,
  answer = "bank is down",
  payloads = ['{"account":"alice","amount":30}', '{"account":"bob","amount":30}'],
): Promise<void> {
  rm.setDefault("TransIn", { status: 500, body: answer });
  const { status } = await dtx.post("/api/dtmsvr/submit", {
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
    ],
    payloads,
  });
  if (status !== 200) throw new Error(`submit of ${gid} answered ${status}`);
  await dtx.settled(gid);
  const now = await dtx.status(gid);
  if (now !== "submitted") throw new Error(`${gid} is ${now}, not stuck in submitted`);
}
