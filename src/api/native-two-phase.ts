import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  AbortTransactionResponseSchema,
  BeginTccResponseSchema,
  BeginXaResponseSchema,
  RegisterTccBranchResponseSchema,
  RegisterXaBranchResponseSchema,
  SubmitTransactionResponseSchema,
  type BeginTccRequest,
  type BeginXaRequest,
  type CoordinatorService,
} from "../../gen/dtx/v1/coordinator_pb";
import type { Engine } from "../core/engine";
import { codeOf } from "../core/errors";
import { newGid } from "../core/gid";
import type { TransRecord } from "../core/model";
import { nativeSpelling, spelledError, type Spelling } from "./field-spelling";
import { optionsFromProto, protocolFromProto, statusToProto } from "./native-convert";

/** What the native TCC/XA calls need. */
export interface NativeTwoPhaseDeps {
  engine: Engine;
}

type TwoPhaseCalls = Pick<
  ServiceImpl<typeof CoordinatorService>,
  "beginTcc" | "registerTccBranch" | "beginXa" | "registerXaBranch" | "submitTransaction" | "abortTransaction"
>;

/**
 * The native API's TCC and XA calls — begin, register a branch, submit, abort — over the same engine
 * verbs as dtm's prepare / registerBranch / submit / abort, with typed requests. A conflict with the
 * stored state (dtm's FAILURE) is FAILED_PRECONDITION here; bad input names the request's field.
 */
export function twoPhaseCalls(deps: NativeTwoPhaseDeps): TwoPhaseCalls {
  const { engine } = deps;
  const begin = async (req: BeginTccRequest | BeginXaRequest, kind: "tcc" | "xa"): Promise<string> => {
    const gid = req.gid || newGid();
    await engine.prepare({
      gid,
      protocol: protocolFromProto(req.protocol),
      queryPrepared: "",
      options: optionsFromProto(req.options),
      definition: { kind },
    });
    return gid;
  };
  const outcome = (t: TransRecord) => ({
    gid: t.gid,
    status: statusToProto[t.status],
    rollbackReason: t.rollbackReason,
  });
  return {
    beginTcc: (req) => native(async () => create(BeginTccResponseSchema, { gid: await begin(req, "tcc") })),
    beginXa: (req) => native(async () => create(BeginXaResponseSchema, { gid: await begin(req, "xa") })),
    registerTccBranch: (req) =>
      native(async () => {
        const { gid, branchId, confirm, cancel, payload } = req;
        const fields = { confirm, cancel };
        await engine.registerBranch({
          gid,
          transType: "tcc",
          branchId,
          fields,
          payload: Buffer.from(payload),
        });
        return create(RegisterTccBranchResponseSchema);
      }),
    registerXaBranch: (req) =>
      native(async () => {
        const { gid, branchId, url } = req;
        await engine.registerBranch({
          gid,
          transType: "xa",
          branchId,
          fields: { url },
          payload: Buffer.alloc(0),
        });
        return create(RegisterXaBranchResponseSchema);
      }),
    submitTransaction: (req) =>
      native(async () => {
        const { trans } = await engine.submitStored(req.gid, req.waitResult);
        return create(SubmitTransactionResponseSchema, outcome(trans));
      }),
    abortTransaction: (req) =>
      native(async () => {
        const found = await engine.get(req.gid, { branches: false });
        if (!found)
          throw new ConnectError(`no transaction with gid ${JSON.stringify(req.gid)}`, Code.NotFound);
        const { trans } = await engine.abort({
          gid: req.gid,
          transType: found.trans.transType,
          rollbackReason: req.rollbackReason,
          waitResult: req.waitResult || undefined,
        });
        return create(AbortTransactionResponseSchema, outcome(trans));
      }),
  };
}

/** Runs a native call; errors in the native API's terms (see `nativeError`). */
export async function native<T>(call: () => Promise<T>, spelling: Spelling = nativeSpelling): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw nativeError(err, spelling);
  }
}

/**
 * dtm's FAILURE for "the stored state does not allow it" is a precondition in the native API; fields
 * in its spelling (`spelling`: the call's request, a saga's by default).
 */
export function nativeError(err: unknown, spelling: Spelling = nativeSpelling): unknown {
  if (codeOf(err) === Code.Aborted)
    return new ConnectError(ConnectError.from(err).rawMessage, Code.FailedPrecondition);
  return spelledError(err, spelling);
}
