/**
 * dtm's SDKs' message clients, reproduced request for request (/work/notes/dtm-sdks.md: dtm's SDKs cannot
 * be installed here): the bodies Go, Node, Python and the JSON-RPC client send to prepare, submit and
 * abort a message, the gRPC client's DtmRequest, how each judges the answer, and each SDK's DoAndSubmit
 * (prepare → local transaction with the barrier → submit, or the check-back and abort).
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { request } from "undici";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import type { TestCoordinator } from "./coordinator";
import type { TestAp } from "./msg-ap";
import type pg from "pg";

/** A message as an application builds it with an SDK. */
export interface MsgSpec {
  gid: string;
  /** Step URLs and their bodies (JSON text; the gRPC client sends the bytes of the text). */
  steps: Array<{ action: string; payload: string }>;
  queryPrepared: string;
  /** Seconds; the SDKs that have it send it with the submit only. */
  delay?: number;
}

/** An SDK's error: the coordinator's (or check-back's) answer, and whether the SDK reads it as FAILURE. */
export class SdkError extends Error {
  constructor(
    message: string,
    readonly failure: boolean,
  ) {
    super(message);
  }
}

/** One SDK flavour's message client. */
export interface MsgClient {
  name: string;
  /** Which URL form its steps and check-back take: HTTP or gRPC (`host:port/pkg.Service/Method`). */
  transport: "http" | "grpc";
  prepare(m: MsgSpec): Promise<void>;
  submit(m: MsgSpec): Promise<void>;
  abort(m: MsgSpec): Promise<void>;
  /** The SDK's DoAndSubmit; resolves with the error it returns (null: none). `beforeLocal` runs after the prepare. */
  doAndSubmit(
    ap: TestAp,
    m: MsgSpec,
    business: (tx: pg.PoolClient) => Promise<void>,
    beforeLocal?: () => Promise<void>,
  ): Promise<Error | null>;
}

/** Go's TransBase JSON for a message (`concurrent` and `protocol` always present). */
function goBody(m: MsgSpec, op: "prepare" | "submit" | "abort", protocol = ""): Record<string, unknown> {
  return {
    gid: m.gid,
    trans_type: "msg",
    ...(op === "submit" && m.delay ? { custom_data: JSON.stringify({ delay: m.delay }) } : {}),
    concurrent: false,
    steps: m.steps.map((s) => ({ action: s.action })),
    payloads: m.steps.map((s) => s.payload),
    query_prepared: m.queryPrepared,
    protocol,
  };
}

/** POST to a dtm route; the SDK's error when the status is not 200 or the body says FAILURE. */
async function postDtm(
  dtx: TestCoordinator,
  path: string,
  body: unknown,
  anyNon2xxThrows = false,
): Promise<string> {
  const res = await request(dtx.base + path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200 || text.includes("FAILURE") || (anyNon2xxThrows && res.statusCode >= 300)) {
    throw new SdkError(`${res.statusCode} ${text}`, res.statusCode === 409 || text.includes("FAILURE"));
  }
  return text;
}

/** The SDK's own check-back call (GET qp with dtm's query parameters), judged by dtm's HTTP rules. */
async function httpCheckBack(m: MsgSpec): Promise<SdkError | null> {
  const q = new URLSearchParams({ dtm: "", gid: m.gid, branch_id: "00", trans_type: "msg", op: "msg" });
  const res = await request(`${m.queryPrepared}?${q}`);
  const text = await res.body.text();
  if (res.statusCode === 200 && !text.includes("FAILURE")) return null;
  return new SdkError(
    `check-back ${res.statusCode} ${text}`,
    res.statusCode === 409 || text.includes("FAILURE"),
  );
}

/** Go's DoAndSubmit (Python's and the gRPC client's do the same). */
function goDoAndSubmit(
  client: Omit<MsgClient, "doAndSubmit">,
  checkBack: (ap: TestAp, m: MsgSpec) => Promise<SdkError | null>,
): MsgClient["doAndSubmit"] {
  return async (ap, m, business, beforeLocal) => {
    try {
      await client.prepare(m);
    } catch (err) {
      return err as Error;
    }
    await beforeLocal?.();
    const errb = await ap.localTransaction(m.gid, business).then(
      () => null,
      (e: Error) => e,
    );
    let err: SdkError | null = null;
    // a business error other than FAILURE: whether the local transaction committed is asked
    if (errb && !(errb instanceof SdkError && errb.failure)) err = await checkBack(ap, m);
    if ((errb instanceof SdkError && errb.failure) || err?.failure)
      await client.abort(m).catch(() => undefined);
    else if (!err) {
      try {
        await client.submit(m);
      } catch (e) {
        err = e as SdkError;
      }
    }
    return errb ?? err;
  };
}

/** The message clients of dtm's SDKs against a coordinator. */
export function msgClients(dtx: TestCoordinator): MsgClient[] {
  const go = { name: "Go", transport: "http" as const };
  const goClient = {
    ...go,
    prepare: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/prepare", goBody(m, "prepare"))),
    submit: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/submit", goBody(m, "submit"))),
    abort: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/abort", goBody(m, "abort"))),
  };

  // Node's dtmcli: TypedJSON leaves unset members out; custom_data '{"delay": N}' on submit only
  const nodeBody = (m: MsgSpec, submit: boolean) => ({
    gid: m.gid,
    trans_type: "msg",
    steps: m.steps.map((s) => ({ action: s.action })),
    payloads: m.steps.map((s) => s.payload),
    query_prepared: m.queryPrepared,
    ...(submit && m.delay ? { custom_data: `{"delay": ${m.delay}}` } : {}),
  });
  const nodeClient = {
    name: "Node",
    transport: "http" as const,
    prepare: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/prepare", nodeBody(m, false), true)),
    submit: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/submit", nodeBody(m, true), true)),
    abort: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/abort", nodeBody(m, false), true)),
  };

  // Python's dtmcli: the whole TransBase.__dict__, nulls and the removed passthrough_headers included
  const pythonBody = (m: MsgSpec) => ({
    gid: m.gid,
    trans_type: "msg",
    custom_data: null,
    steps: m.steps.map((s) => ({ action: s.action })),
    payloads: m.steps.map((s) => s.payload),
    query_prepared: m.queryPrepared,
    protocol: null,
    wait_result: false,
    timeout_to_fail: 0,
    request_timeout: 8,
    retry_interval: 0,
    passthrough_headers: [],
    branch_headers: {},
    concurrent: false,
  });
  const pythonClient = {
    name: "Python",
    transport: "http" as const,
    prepare: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/prepare", pythonBody(m))),
    submit: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/submit", pythonBody(m))),
    abort: async (m: MsgSpec) => void (await postDtm(dtx, "/api/dtmsvr/abort", pythonBody(m))),
  };

  // Go's JSON-RPC client: every call a POST to /api/json-rpc, id "no-use"; ok iff 200 and error null
  const jrpc = (method: string) => async (m: MsgSpec) => {
    const params = goBody(m, method as "prepare", "json-rpc");
    const res = await dtx.post("/api/json-rpc", { jsonrpc: "2.0", id: "no-use", method, params });
    if (res.status !== 200 || res.body.error != null) {
      throw new SdkError(JSON.stringify(res.body), res.body?.error?.code === -32901);
    }
  };
  const jrpcClient = {
    name: "JSON-RPC",
    transport: "http" as const,
    prepare: jrpc("prepare"),
    submit: jrpc("submit"),
    abort: jrpc("abort"),
  };

  // Go's gRPC client: DtmRequest with Steps as JSON text and BinPayloads
  const dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  const grpcRequest = (m: MsgSpec, submit: boolean) => ({
    Gid: m.gid,
    TransType: "msg",
    TransOptions: {},
    CustomedData: submit && m.delay ? JSON.stringify({ delay: m.delay }) : "",
    Steps: JSON.stringify(m.steps.map((s) => ({ action: s.action }))),
    BinPayloads: m.steps.map((s) => Buffer.from(s.payload)),
    QueryPrepared: m.queryPrepared,
  });
  const grpcCall = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (err: { code?: number; rawMessage?: string }) => {
        throw new SdkError(String(err.rawMessage), err.code === 10); // ABORTED is FAILURE
      },
    );
  const grpcClient = {
    name: "gRPC",
    transport: "grpc" as const,
    prepare: (m: MsgSpec) => grpcCall(dtm.prepare(grpcRequest(m, false))),
    submit: (m: MsgSpec) => grpcCall(dtm.submit(grpcRequest(m, true))),
    abort: (m: MsgSpec) => grpcCall(dtm.abort(grpcRequest(m, false))),
  };
  // the gRPC SDK asks its own check-back over gRPC: here it asks the barrier directly
  const grpcCheckBack = async (ap: TestAp, m: MsgSpec) =>
    (await ap.checkBack(m.gid)) === "SUCCESS" ? null : new SdkError("check-back FAILURE", true);

  return [
    { ...goClient, doAndSubmit: goDoAndSubmit(goClient, (_ap, m) => httpCheckBack(m)) },
    { ...nodeClient, doAndSubmit: nodeDoAndSubmit(nodeClient) },
    { ...pythonClient, doAndSubmit: goDoAndSubmit(pythonClient, (_ap, m) => httpCheckBack(m)) },
    { ...jrpcClient, doAndSubmit: goDoAndSubmit(jrpcClient, (_ap, m) => httpCheckBack(m)) },
    { ...grpcClient, doAndSubmit: goDoAndSubmit(grpcClient, grpcCheckBack) },
  ];
}

/**
 * Node's doAndSubmit: a FAILURE from the business aborts; any other error asks the check-back, whose
 * FAILURE (a non-2xx answer) propagates without an abort — the message waits for the coordinator's own
 * check-back — and whose success submits, the business error swallowed.
 */
function nodeDoAndSubmit(client: Omit<MsgClient, "doAndSubmit">): MsgClient["doAndSubmit"] {
  return async (ap, m, business, beforeLocal) => {
    try {
      await client.prepare(m);
      await beforeLocal?.();
      try {
        await ap.localTransaction(m.gid, business);
      } catch (errb) {
        if (errb instanceof SdkError && errb.failure) {
          await client.abort(m);
          return errb;
        }
        const checked = await httpCheckBack(m);
        if (checked) return checked;
      }
      await client.submit(m);
      return null;
    } catch (err) {
      return err as Error;
    }
  };
}
