import type { ServiceImpl } from "@connectrpc/connect";
import { EmptySchema, type Empty } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { DtmGidReplySchema, type Dtm, type DtmRequest } from "../../gen/dtmgimp/dtmgimp_pb";
import type { AbortRequest, Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { newGid } from "../core/gid";
import { checkGid } from "../core/gid-check";
import type { NewTrans } from "../core/model";
import type { Topics } from "../core/topics";
import { parseDtmBody } from "./dtm-body";
import { dtmGrpcError } from "./dtm-errors";
import { dtmGrpcSpelling, spelledError } from "./field-spelling";
import { checkWaitResult } from "./wait-result";

/** What dtm's gRPC service needs. */
export interface DtmGrpcDeps {
  engine: Engine;
  topics: Topics;
  maxGidLength: number;
}

/** Runs a call, answering errors as dtm's gRPC API does (field names as DtmRequest spells them). */
async function answered(run: () => Promise<unknown>): Promise<Empty> {
  try {
    await run();
    return create(EmptySchema);
  } catch (err) {
    throw dtmGrpcError(spelledError(err, dtmGrpcSpelling));
  }
}

/**
 * dtm's gRPC API (`dtmgimp.Dtm`), as dtm's SDKs call it on port 36790. Requests are mapped onto the
 * HTTP body shape and share its checks; the protocol of a gRPC-created transaction is `grpc`. Payloads
 * (`BinPayloads`) are stored and sent to the branches byte for byte.
 */
export function dtmGrpcService(deps: DtmGrpcDeps): Partial<ServiceImpl<typeof Dtm>> {
  const { engine, topics, maxGidLength } = deps;
  return {
    newGid: async () => create(DtmGidReplySchema, { Gid: newGid() }),
    submit: (req) =>
      answered(async () => {
        const t = fromDtmRequest(req, maxGidLength);
        const { trans } = await engine.submit(t);
        if (t.options.waitResult) checkWaitResult(trans);
      }),
    prepare: (req) => answered(() => engine.prepare(fromDtmRequest(req, maxGidLength))),
    abort: (req) => answered(() => engine.abort(abortOf(req, maxGidLength))),
    subscribe: (req) => answered(() => topics.subscribe(req.Topic, req.URL, req.Remark)),
    unsubscribe: (req) => answered(() => topics.unsubscribe(req.Topic, req.URL)),
    deleteTopic: (req) => answered(() => topics.deleteTopic(req.Topic)),
  };
}

/** A DtmRequest as a NewTrans (durations arrive in seconds; payloads are binary). */
export function fromDtmRequest(req: DtmRequest, maxGidLength: number): NewTrans {
  let steps: unknown = [];
  if (req.Steps !== "") {
    try {
      steps = JSON.parse(req.Steps);
    } catch {
      throw invalidField(["steps"], "is not JSON text");
    }
  }
  const o = req.TransOptions;
  return parseDtmBody(
    {
      gid: req.Gid,
      trans_type: req.TransType,
      steps,
      custom_data: req.CustomedData,
      query_prepared: req.QueryPrepared,
      protocol: "grpc",
      rollback_reason: req.RollbackReason,
      wait_result: o?.WaitResult ?? false,
      timeout_to_fail: Number(o?.TimeoutToFail ?? 0),
      retry_interval: Number(o?.RetryInterval ?? 0),
      request_timeout: Number(o?.RequestTimeout ?? 0),
      retry_limit: Number(o?.RetryLimit ?? 0),
      branch_headers: o?.BranchHeaders ?? {},
    },
    maxGidLength,
    req.BinPayloads.map((p) => Buffer.from(p)),
  );
}

/** A DtmRequest as an abort: the gid, the kind and the reason count (dtm's SDKs send the whole request). */
function abortOf(req: DtmRequest, maxGidLength: number): AbortRequest {
  checkGid(req.Gid, maxGidLength);
  if (req.TransType === "") throw invalidField(["trans_type"], "is required");
  return {
    gid: req.Gid,
    transType: req.TransType,
    rollbackReason: req.RollbackReason,
    waitResult: req.TransOptions?.WaitResult || undefined,
  };
}
