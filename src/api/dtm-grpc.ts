import type { ServiceImpl } from "@connectrpc/connect";
import { EmptySchema, type Empty } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import {
  DtmGidReplySchema,
  DtmProgressesReplySchema,
  type Dtm,
  type DtmRequest,
} from "../../gen/dtmgimp/dtmgimp_pb";
import type { Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { newGid } from "../core/gid";
import type { NewTrans } from "../core/model";
import type { Topics } from "../core/topics";
import { parseDtmBody } from "./dtm-body";
import { dtmGrpcError } from "./dtm-errors";
import { dtmGrpcSpelling, dtmGrpcTopicSpelling, spelledError, type Spelling } from "./field-spelling";
import { abortRequest, registration } from "./dtm-register";
import { checkAbortResult, checkWaitResult } from "./wait-result";

/** What dtm's gRPC service needs. */
export interface DtmGrpcDeps {
  engine: Engine;
  topics: Topics;
  maxGidLength: number;
}

/**
 * dtm's gRPC API (`dtmgimp.Dtm`), as dtm's SDKs call it on port 36790. Requests are mapped onto the
 * HTTP body shape and share its checks; the protocol of a gRPC-created transaction is `grpc`.
 * Payloads (`BinPayloads`, `BusiPayload`) are stored and sent to the branches byte for byte.
 */
export function dtmGrpcService(deps: DtmGrpcDeps): Partial<ServiceImpl<typeof Dtm>> {
  return {
    newGid: async () => create(DtmGidReplySchema, { Gid: newGid() }),
    submit: (req) =>
      answer(async () => {
        const t = fromDtmRequest(req, deps.maxGidLength);
        const { trans } = await deps.engine.submit(t);
        if (t.options.waitResult) checkWaitResult(trans);
      }),
    prepare: (req) =>
      answer(async () => {
        await deps.engine.prepare(fromDtmRequest(req, deps.maxGidLength));
      }),
    abort: (req) =>
      answer(async () => {
        const wait = req.TransOptions?.WaitResult ?? false;
        const r = abortRequest(req.Gid, req.TransType, req.RollbackReason, wait);
        checkAbortResult((await deps.engine.abort(r)).trans, r.waitResult);
      }),
    // dtm ignores `Op`: workflow clients put it into `Data`
    registerBranch: (req) =>
      answer(() =>
        deps.engine.registerBranch(
          registration(req.Gid, req.TransType, req.BranchID, req.Data, Buffer.from(req.BusiPayload)),
        ),
      ),
    prepareWorkflow: (req) =>
      reply(async () => {
        const { trans, branches } = await deps.engine.prepareOrLoad(fromDtmRequest(req, deps.maxGidLength));
        return create(DtmProgressesReplySchema, {
          // dtm leaves Result empty over gRPC; it is filled here, so a finished workflow's client
          // gets its result over gRPC as over HTTP
          Transaction: {
            Gid: trans.gid,
            Status: trans.status,
            RollbackReason: trans.rollbackReason,
            Result: trans.result,
          },
          Progresses: branches.map((b) => ({
            Status: b.status,
            BinData: b.payload,
            BranchID: b.branchId,
            Op: b.op,
          })),
        });
      }),
    subscribe: (req) =>
      answer(async () => {
        await deps.topics.subscribe(req.Topic, req.URL, req.Remark);
      }, dtmGrpcTopicSpelling),
    unsubscribe: (req) =>
      answer(async () => {
        await deps.topics.unsubscribe(req.Topic, req.URL);
      }, dtmGrpcTopicSpelling),
    deleteTopic: (req) => answer(() => deps.topics.deleteTopic(req.Topic), dtmGrpcTopicSpelling),
  };
}

/** Runs a verb; success is Empty, errors are dtm's gRPC codes with fields in `spelling` (DtmRequest's by default). */
function answer(verb: () => Promise<void>, spelling: Spelling = dtmGrpcSpelling): Promise<Empty> {
  return reply(async () => {
    await verb();
    return create(EmptySchema);
  }, spelling);
}

/** Runs a method; errors are dtm's gRPC codes with fields in `spelling` (DtmRequest's by default). */
async function reply<T>(method: () => Promise<T>, spelling: Spelling = dtmGrpcSpelling): Promise<T> {
  try {
    return await method();
  } catch (err) {
    throw dtmGrpcError(spelledError(err, spelling));
  }
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
      req_extra: Object.keys(req.ReqExtra).length > 0 ? req.ReqExtra : undefined,
    },
    maxGidLength,
    req.BinPayloads.map((p) => Buffer.from(p)),
  );
}
