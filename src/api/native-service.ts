import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  GetTransactionResponseSchema,
  ListTransactionsResponseSchema,
  NewGidResponseSchema,
  SubmitSagaResponseSchema,
  type CoordinatorService,
} from "../../gen/dtx/v1/coordinator_pb";
import type { Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { newGid } from "../core/gid";
import { checkGid } from "../core/gid-check";
import { msgCalls } from "./native-msg";
import { nativeError, twoPhaseCalls } from "./native-two-phase";
import {
  filterFromProto,
  kindToProto,
  optionsFromProto,
  protocolFromProto,
  statusToProto,
  transactionToProto,
} from "./native-convert";

/** What the native API needs. */
export interface NativeDeps {
  engine: Engine;
  maxGidLength: number;
}

/**
 * The `dtx.v1.CoordinatorService` implementation, served as gRPC, gRPC-Web, Connect and (through
 * the REST gateway) JSON. Same core as dtm's API; typed options, enums and durations instead of
 * dtm's strings and seconds. Bad input names the field as this API's request spells it.
 */
export function coordinatorService(deps: NativeDeps): ServiceImpl<typeof CoordinatorService> {
  return {
    ...msgCalls(deps),
    newGid: async () => create(NewGidResponseSchema, { gid: newGid() }),

    async submitSaga(req) {
      try {
        const gid = req.gid || newGid();
        checkGid(gid, deps.maxGidLength);
        if (!req.saga) throw invalidField(["saga"], "is required");
        const { steps, concurrent, orders } = req.saga;
        const { trans } = await deps.engine.submit({
          gid,
          protocol: protocolFromProto(req.protocol),
          queryPrepared: "",
          options: optionsFromProto(req.options),
          definition: {
            kind: "saga",
            steps: steps.map((s) => ({
              action: s.action,
              compensate: s.compensate,
              payload: Buffer.from(s.payload),
            })),
            // proto3 cannot tell false from unset: a layout is given when anything in it is
            concurrent: concurrent || Object.keys(orders).length > 0 ? concurrent : undefined,
            orders: new Map(Object.entries(orders).map(([k, v]) => [Number(k), v.steps])),
          },
        });
        return create(SubmitSagaResponseSchema, {
          gid,
          status: statusToProto[trans.status],
          rollbackReason: trans.rollbackReason,
        });
      } catch (err) {
        // dtm's FAILURE for "already finished" is a precondition in this API
        throw nativeError(err);
      }
    },

    ...twoPhaseCalls(deps),

    async getTransaction(req) {
      const found = await deps.engine.get(req.gid);
      if (!found) throw new ConnectError(`no transaction with gid ${JSON.stringify(req.gid)}`, Code.NotFound);
      return create(GetTransactionResponseSchema, {
        transaction: transactionToProto(found.trans, found.branches),
      });
    },

    async listTransactions(req) {
      const page = await deps.engine.list({
        pageSize: req.pageSize === 0 ? undefined : req.pageSize,
        cursor: req.pageToken,
        statuses: [filterFromProto(statusToProto, req.status, "status")].filter((x) => x !== undefined),
        transType: filterFromProto(kindToProto, req.kind, "kind"),
      });
      return create(ListTransactionsResponseSchema, {
        transactions: page.transactions.map((t) => transactionToProto(t, null)),
        nextPageToken: page.next,
      });
    },
  };
}
