import type { ServiceImpl } from "@connectrpc/connect";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import {
  DtmGidReplySchema,
  DtmProgressesReplySchema,
  type Dtm,
  type DtmBranchRequest,
  type DtmRequest,
} from "../../gen/dtmgimp/dtmgimp_pb";
import type { Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { newGid } from "../core/gid";
import type { BranchRegistration, NewTrans } from "../core/model";
import { parseDtmBody } from "./dtm-body";
import { dtmGrpcError } from "./dtm-errors";
import { dtmGrpcSpelling, spelledError } from "./field-spelling";
import { checkWaitResult } from "./wait-result";

/** What dtm's gRPC service needs. */
export interface DtmGrpcDeps {
  engine: Engine;
  maxGidLength: number;
}

/**
 * dtm's gRPC API (`dtmgimp.Dtm`), as dtm's SDKs call it on port 36790. Requests are mapped onto the
 * HTTP body shape and share its checks; the protocol of a gRPC-submitted transaction is `grpc`.
 */
export function dtmGrpcService(deps: DtmGrpcDeps): Partial<ServiceImpl<typeof Dtm>> {
  const { engine } = deps;
  return {
    newGid: async () => create(DtmGidReplySchema, { Gid: newGid() }),
    submit: dtmCall(async (req: DtmRequest) => {
      const t = fromDtmRequest(req, deps.maxGidLength);
      const { trans } = await engine.submit(t);
      if (t.options.waitResult) checkWaitResult(trans);
      return create(EmptySchema);
    }),
    prepareWorkflow: dtmCall(async (req: DtmRequest) => {
      const { trans, branches } = await engine.prepareOrLoad(fromDtmRequest(req, deps.maxGidLength));
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
    registerBranch: dtmCall(async (req: DtmBranchRequest) => {
      await engine.registerBranch(fromDtmBranchRequest(req));
      return create(EmptySchema);
    }),
  };
}

/** A dtm gRPC method: errors are named as DtmRequest spells its fields, with dtm's codes. */
function dtmCall<I, O>(handle: (req: I) => Promise<O>): (req: I) => Promise<O> {
  return async (req) => {
    try {
      return await handle(req);
    } catch (err) {
      throw dtmGrpcError(spelledError(err, dtmGrpcSpelling));
    }
  };
}

/**
 * A DtmBranchRequest as a registration: `Data` holds the kind's fields (as HTTP's flat body does),
 * `BusiPayload` the branch's body. dtm ignores the `Op` field (workflow clients put `op` in `Data`);
 * here it stands in when `Data` has no `op`.
 */
export function fromDtmBranchRequest(req: DtmBranchRequest): BranchRegistration {
  const fields = { ...req.Data };
  if (fields.op === undefined && req.Op !== "") fields.op = req.Op;
  return {
    gid: req.Gid,
    transType: req.TransType,
    branchId: req.BranchID,
    fields,
    payload: Buffer.from(req.BusiPayload),
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
      req_extra: Object.keys(req.ReqExtra).length > 0 ? req.ReqExtra : undefined,
    },
    maxGidLength,
    req.BinPayloads.map((p) => Buffer.from(p)),
  );
}
