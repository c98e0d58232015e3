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
import { codeOf, invalidArgument } from "../core/errors";
import { newGid } from "../core/gid";
import type { Store } from "../store/store";
import { findBranches, findTrans, listTrans } from "../store/trans-statements";
import { nativeSagaFields, renameField } from "./field-names";
import { checkGid } from "./gid-check";
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
  store: Store;
  maxGidLength: number;
  maxPageSize: number;
}

const DEFAULT_PAGE_SIZE = 100;

/**
 * The `dtx.v1.CoordinatorService` implementation, served as gRPC, gRPC-Web, Connect and (through
 * the REST gateway) JSON. Same core as dtm's API; typed options, enums and durations instead of
 * dtm's strings and seconds.
 */
export function coordinatorService(deps: NativeDeps): ServiceImpl<typeof CoordinatorService> {
  return {
    newGid: async () => create(NewGidResponseSchema, { gid: newGid() }),

    async submitSaga(req) {
      const gid = req.gid || newGid();
      checkGid(gid, deps.maxGidLength);
      if (!req.saga) throw invalidArgument("saga", "is required");
      const { steps, concurrent, orders } = req.saga;
      const layout =
        concurrent || Object.keys(orders).length
          ? JSON.stringify({
              concurrent,
              orders: Object.fromEntries(Object.entries(orders).map(([k, v]) => [k, v.steps])),
            })
          : "";
      try {
        const { trans } = await deps.engine.submit({
          gid,
          transType: "saga",
          protocol: protocolFromProto(req.protocol),
          queryPrepared: "",
          customData: layout,
          options: optionsFromProto(req.options),
          steps: steps.map((s) => ({ action: s.action, compensate: s.compensate })),
          payloads: steps.map((s) => Buffer.from(s.payload)),
        });
        return create(SubmitSagaResponseSchema, {
          gid,
          status: statusToProto[trans.status],
          rollbackReason: trans.rollbackReason,
        });
      } catch (err) {
        // dtm's FAILURE for "already finished" is a precondition in this API
        if (codeOf(err) === Code.Aborted)
          throw new ConnectError(ConnectError.from(err).rawMessage, Code.FailedPrecondition);
        throw renameField(err, nativeSagaFields);
      }
    },

    async getTransaction(req) {
      if (req.gid === "") throw invalidArgument("gid", "is required");
      const trans = await findTrans(deps.store.db, req.gid);
      if (!trans) throw new ConnectError(`no transaction with gid ${JSON.stringify(req.gid)}`, Code.NotFound);
      const branches = await findBranches(deps.store.db, [req.gid]);
      return create(GetTransactionResponseSchema, { transaction: transactionToProto(trans, branches) });
    },

    async listTransactions(req) {
      const limit = req.pageSize === 0 ? DEFAULT_PAGE_SIZE : req.pageSize;
      if (limit < 0 || limit > deps.maxPageSize) {
        throw invalidArgument("page_size", `must be between 1 and ${deps.maxPageSize}`);
      }
      if (req.pageToken !== "" && !/^\d+$/.test(req.pageToken)) {
        throw invalidArgument("page_token", "is not a token of this listing");
      }
      const status = filterFromProto(statusToProto, req.status, "status");
      const transType = filterFromProto(kindToProto, req.kind, "kind");
      const page = await listTrans(deps.store.db, {
        beforeId: req.pageToken || undefined,
        limit,
        status,
        transType,
      });
      return create(ListTransactionsResponseSchema, {
        transactions: page.transactions.map((t) => transactionToProto(t, null)),
        nextPageToken: page.next,
      });
    },
  };
}
