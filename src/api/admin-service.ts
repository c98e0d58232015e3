import { create } from "@bufbuild/protobuf";
import { durationMs, timestampDate, timestampFromDate, type Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  AdminServiceGetTransactionResponseSchema,
  AdminServiceListTransactionsResponseSchema,
  ForceStopResponseSchema,
  GetHealthResponseSchema,
  RetryDelayedResponseSchema,
  RetryNowResponseSchema,
  type AdminService,
} from "../../gen/dtx/v1/admin_pb";
import type { Engine } from "../core/engine";
import { codeOf, invalidField } from "../core/errors";
import type { TransStatus } from "../core/model";
import { OPERATOR } from "./operator";
import { nativeSpelling, spelledError } from "./field-spelling";
import { filterFromProto, kindToProto, statusToProto, transactionToProto } from "./native-convert";

/** What the admin API needs. */
export interface AdminDeps {
  engine: Engine;
  /** The server's timeoutToFail (ms): RetryDelayed's default reach is three times it. */
  timeoutToFailMs: number;
  /** What GetHealth says of the process itself. */
  process: { version: string; store: string; recoveryEnabled: boolean; workers: number };
}

/**
 * The `dtx.v1.AdminService` implementation (operators: list, look, force-stop, retry now), served as
 * gRPC, gRPC-Web, Connect and REST beside the coordinator API. dtm's FAILURE (a finished
 * transaction) is FAILED_PRECONDITION here.
 */
export function adminService(deps: AdminDeps): ServiceImpl<typeof AdminService> {
  const { engine } = deps;
  return {
    listTransactions: (req) =>
      answer(async () => {
        const page = await engine.list({
          pageSize: req.pageSize === 0 ? undefined : req.pageSize,
          cursor: req.pageToken,
          statuses: req.statuses.map(
            (s, i) => filterFromProto(statusToProto, s, `statuses[${i}]`) ?? badStatus(i),
          ),
          transType: filterFromProto(kindToProto, req.kind, "kind"),
          createdFrom: req.createTimeStart ? timestampDate(req.createTimeStart) : undefined,
          createdTo: req.createTimeEnd ? timestampDate(req.createTimeEnd) : undefined,
          gidPrefix: req.gidPrefix,
        });
        return create(AdminServiceListTransactionsResponseSchema, {
          transactions: page.transactions.map((t) => transactionToProto(t, null)),
          nextPageToken: page.next,
        });
      }),

    getTransaction: (req) =>
      answer(async () => {
        const found = await engine.get(req.gid);
        if (!found) throw notFound(req.gid);
        return create(AdminServiceGetTransactionResponseSchema, {
          transaction: transactionToProto(found.trans, found.branches),
        });
      }),

    forceStop: (req, ctx) =>
      answer(async () =>
        create(ForceStopResponseSchema, {
          transaction: transactionToProto(await engine.forceStop(req.gid, ctx.values.get(OPERATOR)), null),
        }),
      ),

    retryNow: (req) =>
      answer(async () =>
        create(RetryNowResponseSchema, {
          transaction: transactionToProto(await engine.retryNow(req.gid), null),
        }),
      ),

    getHealth: () =>
      answer(async () => {
        const s = await engine.summary();
        return create(GetHealthResponseSchema, {
          ...deps.process,
          runningPasses: s.runningPasses,
          unfinished: BigInt(s.unfinished),
          backlog: BigInt(s.due),
          oldestUnfinishedCreateTime: s.oldestCreateTime ? timestampFromDate(s.oldestCreateTime) : undefined,
        });
      }),

    retryDelayed: (req) =>
      answer(async () => {
        const beyond = req.beyond ? signedMs(req.beyond) : 3 * deps.timeoutToFailMs;
        const limit = req.limit === 0 ? 100 : req.limit;
        const { count, hasRemaining } = await engine.retryDelayed(beyond, limit, "beyond");
        return create(RetryDelayedResponseSchema, { count, hasRemaining });
      }),
  };
}

/** Runs a method: bad input named as this API spells it, dtm's FAILURE as FAILED_PRECONDITION. */
async function answer<T>(method: () => Promise<T>): Promise<T> {
  try {
    return await method();
  } catch (err) {
    if (codeOf(err) === Code.Aborted)
      throw new ConnectError(ConnectError.from(err).rawMessage, Code.FailedPrecondition);
    throw spelledError(err, nativeSpelling);
  }
}

function notFound(gid: string): ConnectError {
  return new ConnectError(`no transaction with gid ${JSON.stringify(gid)}`, Code.NotFound);
}

function badStatus(i: number): TransStatus {
  throw invalidField(["statuses", i], "must not be TRANSACTION_STATUS_UNSPECIFIED");
}

/** A duration in ms, negative ones too (the core refuses them, naming the field). */
function signedMs(d: Duration): number {
  return d.seconds < 0n || d.nanos < 0 ? -1 : durationMs(d);
}
