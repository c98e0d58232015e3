import { create } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  AbortMsgResponseSchema,
  PrepareMsgResponseSchema,
  SubmitMsgResponseSchema,
  type CoordinatorService,
  type PrepareMsgRequest,
  type SubmitMsgRequest,
} from "../../gen/dtx/v1/coordinator_pb";
import type { Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { newGid } from "../core/gid";
import { checkGid } from "../core/gid-check";
import type { NewTrans } from "../core/model";
import { nativeMsgSpelling } from "./field-spelling";
import { native } from "./native-two-phase";
import { optionsFromProto, protocolFromProto, statusToProto } from "./native-convert";

/** What the native message calls need. */
export interface NativeMsgDeps {
  engine: Engine;
  maxGidLength: number;
}

/** The native API's message calls. */
export type MsgCalls = Pick<ServiceImpl<typeof CoordinatorService>, "prepareMsg" | "submitMsg" | "abortMsg">;

/**
 * The native API's 2-phase messages — prepare, submit, abort — over the engine's lifecycle verbs, as
 * dtm's prepare / submit / abort are; typed steps, a Duration delay. A conflict with the stored state
 * (dtm's FAILURE) is FAILED_PRECONDITION here; bad input names the request's field (`msg.steps[0].action`).
 */
export function msgCalls(deps: NativeMsgDeps): MsgCalls {
  const { engine } = deps;
  return {
    prepareMsg: (req) =>
      native(async () => {
        const t = newMsg(req, deps.maxGidLength);
        await engine.prepare(t);
        return create(PrepareMsgResponseSchema, { gid: t.gid });
      }, nativeMsgSpelling),
    submitMsg: (req) =>
      native(async () => {
        const t = newMsg(req, deps.maxGidLength);
        const { trans } = await engine.submit(t);
        return create(SubmitMsgResponseSchema, { gid: t.gid, status: statusToProto[trans.status] });
      }, nativeMsgSpelling),
    abortMsg: (req) =>
      native(async () => {
        checkGid(req.gid, deps.maxGidLength);
        const { trans } = await engine.abort({ gid: req.gid, transType: "msg", rollbackReason: req.reason });
        return create(AbortMsgResponseSchema, { gid: req.gid, status: statusToProto[trans.status] });
      }, nativeMsgSpelling),
  };
}

/** A native message request as the core's new transaction (a missing gid is generated). */
function newMsg(req: PrepareMsgRequest | SubmitMsgRequest, maxGidLength: number): NewTrans {
  const gid = req.gid || newGid();
  checkGid(gid, maxGidLength);
  if (!req.msg) throw invalidField(["msg"], "is required");
  const { steps, concurrent, delay, queryPrepared } = req.msg;
  if (delay && (delay.seconds < 0n || delay.nanos < 0)) throw invalidField(["delay"], "must not be negative");
  return {
    gid,
    protocol: protocolFromProto(req.protocol),
    queryPrepared,
    options: optionsFromProto(req.options),
    definition: {
      kind: "msg",
      steps: steps.map((s) => ({ action: s.action, payload: Buffer.from(s.payload) })),
      // proto3 cannot tell false from unset: only a concurrent message says so
      concurrent: concurrent || undefined,
      delayMs: delay ? durationMs(delay) : 0,
    },
  };
}
