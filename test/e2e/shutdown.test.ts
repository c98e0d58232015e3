/**
 * A graceful stop is bounded by `server.shutdownTimeout`: first for in-flight requests (the listener
 * drains them, then closes what is left), then for running passes.
 */
import { request } from "undici";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

let rm: BranchServices;
beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
});

test("a request still running at stop is cut after shutdownTimeout, not after a fixed 5 s", async () => {
  const dtx = await TestCoordinator.start({
    branch: { requestTimeout: 30_000 },
    server: { shutdownTimeout: 300 },
  });
  rm.script("TransOut", "HANG");
  // wait_result keeps the request open while its pass waits for the hanging branch
  const pending = request(`${dtx.base}/api/dtmsvr/submit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      gid: "sd-1",
      trans_type: "saga",
      wait_result: true,
      steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
      payloads: ["{}"],
    }),
  }).then(
    (r) => r.body.text(),
    (err: Error) => err.name,
  );
  const deadline = Date.now() + 5000;
  while (!rm.calls().some((c) => c.gid === "sd-1")) {
    if (Date.now() > deadline) throw new Error("the branch was not called");
    await new Promise((r) => setTimeout(r, 20));
  }
  const started = Date.now();
  await dtx.close();
  // two bounded waits of 300 ms (requests, then passes) and the closing work around them
  expect(Date.now() - started).toBeLessThan(3000);
  await pending;
});
