import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Duration } from "@bufbuild/protobuf/wkt";
import {
  BranchAnswerSchema,
  BranchFailureSchema,
  BranchOutcome,
  BranchSchema,
  BranchStatus,
  MsgSchema,
  Protocol,
  SagaSchema,
  TccSchema,
  TransactionKind,
  TransactionSchema,
  TransactionStatus,
  type Msg,
  XaSchema,
  WorkflowSchema,
  type BranchAnswer as ProtoBranchAnswer,
  type Saga,
  type Transaction,
  type TransactionOptions,
} from "../../gen/dtx/v1/types_pb";
import { invalidField } from "../core/errors";
import {
  defaultOptions,
  type BranchAnswer,
  type BranchRecord,
  type Protocol as TransProtocol,
  type TransOptions,
  type TransRecord,
  type TransStatus,
  type TransType,
} from "../core/model";
import { msgSettingsOf } from "../core/msg-definition";
import { sagaSettingsOf, sagaSteps } from "../core/saga-definition";
import { workflowSettings } from "../core/workflow";

/** dtm's status words ↔ the API's enum. */
export const statusToProto: Record<TransStatus, TransactionStatus> = {
  prepared: TransactionStatus.PREPARED,
  submitted: TransactionStatus.SUBMITTED,
  aborting: TransactionStatus.ABORTING,
  succeed: TransactionStatus.SUCCEED,
  failed: TransactionStatus.FAILED,
};

export const kindToProto: Record<TransType, TransactionKind> = {
  saga: TransactionKind.SAGA,
  tcc: TransactionKind.TCC,
  xa: TransactionKind.XA,
  msg: TransactionKind.MSG,
  workflow: TransactionKind.WORKFLOW,
};

const outcomeToProto: Record<BranchAnswer["outcome"], BranchOutcome> = {
  SUCCESS: BranchOutcome.SUCCESS,
  FAILURE: BranchOutcome.FAILURE,
  ONGOING: BranchOutcome.ONGOING,
  ERROR: BranchOutcome.ERROR,
};

/** A branch's last answer as the API's BranchAnswer. */
function answerToProto(a: BranchAnswer): ProtoBranchAnswer {
  return create(BranchAnswerSchema, {
    outcome: outcomeToProto[a.outcome],
    code: a.code,
    text: a.text,
    callTime: timestampFromDate(a.at),
  });
}

const branchStatusToProto: Record<string, BranchStatus> = {
  prepared: BranchStatus.PREPARED,
  succeed: BranchStatus.SUCCEED,
  failed: BranchStatus.FAILED,
};

/** A listing filter: the enum's zero value means "any"; a value outside the enum is bad input. */
export function filterFromProto<K extends string>(
  table: Record<K, number>,
  value: number,
  field: string,
): K | undefined {
  if (value === 0) return undefined;
  const key = (Object.keys(table) as K[]).find((k) => table[k] === value);
  if (key === undefined) throw invalidField([field], `unknown value ${value}`);
  return key;
}

function ms(d: Duration | undefined, option: string): number {
  if (!d) return 0;
  if (d.seconds < 0n || d.nanos < 0) throw invalidField(["options", option], "must not be negative");
  return durationMs(d);
}

/** API options → core options. */
export function optionsFromProto(o: TransactionOptions | undefined): TransOptions {
  const out = defaultOptions();
  if (!o) return out;
  out.waitResult = o.waitResult;
  out.timeoutToFailMs = ms(o.timeoutToFail, "timeout_to_fail");
  out.requestTimeoutMs = ms(o.requestTimeout, "request_timeout");
  out.retryIntervalMs = ms(o.retryInterval, "retry_interval");
  out.branchHeaders = { ...o.branchHeaders };
  out.retryLimit = Number(o.retryLimit);
  return out;
}

/** dtm's protocol words ↔ the API's enum. */
const protocolToProto: Record<TransProtocol, Protocol> = {
  http: Protocol.HTTP,
  grpc: Protocol.GRPC,
  "json-rpc": Protocol.JSON_RPC,
};

/** API protocol → dtm's protocol word. */
export function protocolFromProto(p: Protocol): TransProtocol {
  if (p === Protocol.UNSPECIFIED) return "http";
  const word = filterFromProto(protocolToProto, p, "protocol");
  if (word === undefined) throw invalidField(["protocol"], `unknown value ${p}`);
  return word;
}

/** Kind-specific definitions as the API shows them, one entry per kind (no switch on the kind). */
const definitions: Partial<
  Record<TransType, (t: TransRecord, b: BranchRecord[]) => Transaction["definition"]>
> = {
  saga: (t, branches) => {
    const layout = sagaSettingsOf(t);
    const saga: Saga = create(SagaSchema, {
      steps: sagaSteps(branches).map((s) => ({
        action: s.action.url,
        compensate: s.compensate.url,
        payload: s.action.payload,
      })),
      concurrent: layout.concurrent === true,
      orders: Object.fromEntries([...layout.orders].map(([k, v]) => [k, { steps: v }])),
    });
    return { case: "saga", value: saga };
  },
  msg: (t, branches) => {
    const { concurrent, delayMs } = msgSettingsOf(t);
    const msg: Msg = create(MsgSchema, {
      steps: branches.filter((b) => b.op === "action").map((b) => ({ action: b.url, payload: b.payload })),
      concurrent: concurrent === true,
      delay: delayMs > 0 ? durationFromMs(delayMs) : undefined,
      queryPrepared: t.queryPrepared,
    });
    return { case: "msg", value: msg };
  },
  tcc: (_t, branches) => ({
    case: "tcc",
    value: create(TccSchema, {
      branches: registered(branches).map(([branchId, ops]) => ({
        branchId,
        confirm: ops.get("confirm")?.url ?? "",
        cancel: ops.get("cancel")?.url ?? "",
        payload: (ops.get("confirm") ?? ops.get("cancel"))?.payload,
      })),
    }),
  }),
  xa: (_t, branches) => ({
    case: "xa",
    value: create(XaSchema, {
      branches: registered(branches).map(([branchId, ops]) => ({
        branchId,
        url: (ops.get("commit") ?? ops.get("rollback"))?.url ?? "",
      })),
    }),
  }),
  workflow: (t) => {
    const { name, input } = workflowSettings(t.settings);
    const workflow = create(WorkflowSchema, {
      name,
      input,
      callback: t.queryPrepared,
      result: Buffer.from(t.result, "base64"),
    });
    return { case: "workflow", value: workflow };
  },
};

/** Registered branches in registration order, each with its rows by op. */
function registered(branches: BranchRecord[]): Array<[string, Map<string, BranchRecord>]> {
  const byId = new Map<string, Map<string, BranchRecord>>();
  for (const b of branches) {
    const ops = byId.get(b.branchId) ?? new Map<string, BranchRecord>();
    ops.set(b.op, b);
    byId.set(b.branchId, ops);
  }
  return [...byId];
}

/** A stored transaction (and its branches, when loaded) as the API's Transaction. */
export function transactionToProto(t: TransRecord, branches: BranchRecord[] | null): Transaction {
  const o = t.options;
  return create(TransactionSchema, {
    gid: t.gid,
    kind: kindToProto[t.transType],
    status: statusToProto[t.status],
    protocol: protocolToProto[t.protocol],
    options: {
      waitResult: o.waitResult,
      timeoutToFail: o.timeoutToFailMs ? durationFromMs(o.timeoutToFailMs) : undefined,
      requestTimeout: o.requestTimeoutMs ? durationFromMs(o.requestTimeoutMs) : undefined,
      retryInterval: o.retryIntervalMs ? durationFromMs(o.retryIntervalMs) : undefined,
      branchHeaders: o.branchHeaders,
      retryLimit: BigInt(o.retryLimit),
    },
    definition: branches
      ? (definitions[t.transType]?.(t, branches) ?? { case: undefined })
      : { case: undefined },
    rollbackReason: t.rollbackReason,
    createTime: timestampFromDate(t.createTime),
    updateTime: timestampFromDate(t.updateTime),
    finishTime: t.finishTime ? timestampFromDate(t.finishTime) : undefined,
    rollbackTime: t.rollbackTime ? timestampFromDate(t.rollbackTime) : undefined,
    nextCronTime: t.nextCronTime ? timestampFromDate(t.nextCronTime) : undefined,
    nextCronInterval: durationFromMs(t.nextCronIntervalMs),
    branches: (branches ?? []).map((b) =>
      create(BranchSchema, {
        branchId: b.branchId,
        op: b.op,
        url: b.url,
        payload: b.payload,
        status: branchStatusToProto[b.status] ?? BranchStatus.UNSPECIFIED,
        createTime: timestampFromDate(b.createTime),
        updateTime: timestampFromDate(b.updateTime),
        finishTime: b.finishTime ? timestampFromDate(b.finishTime) : undefined,
        attempts: b.attempts,
        lastAnswer: b.lastAnswer ? answerToProto(b.lastAnswer) : undefined,
      }),
    ),
    lastFailure: t.lastFailure
      ? create(BranchFailureSchema, {
          branchId: t.lastFailure.branchId,
          op: t.lastFailure.op,
          url: t.lastFailure.url,
          attempts: t.lastFailure.attempts,
          answer: answerToProto(t.lastFailure.answer),
        })
      : undefined,
  });
}
