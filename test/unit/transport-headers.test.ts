/**
 * The transport callers apply the core's branch-header rules themselves: a header they cannot send
 * (a row stored before submit checked it) is an ERROR naming the header, and nothing is sent.
 */
import type { BranchRequest } from "../../src/core/branch-caller";
import { TransportCaller } from "../../src/branch/transport-caller";

const caller = new TransportCaller();
afterAll(() => caller.close());

function request(url: string, headers: Record<string, string>): BranchRequest {
  return {
    url,
    gid: "g",
    transType: "saga",
    branchId: "01",
    op: "action",
    payload: Buffer.from("{}"),
    headers,
    timeoutMs: 1000,
  };
}

test.each([
  ["http", "expect", "100-continue", "http://127.0.0.1:9/x"],
  ["http", "x-price", "5 €", "http://127.0.0.1:9/x"],
  ["grpc", "trace-bin", "abc", "127.0.0.1:9/x.S/M"],
  ["grpc", "x!y", "a", "127.0.0.1:9/x.S/M"],
] as const)(
  "%s call with header %s: %s → an ERROR naming it, nothing sent",
  async (protocol, name, value, url) => {
    const r = await caller.call(protocol, request(url, { [name]: value }));
    expect(r.outcome).toBe("ERROR");
    expect(r.detail).toContain(`branch header ${JSON.stringify(name)}`);
  },
);
