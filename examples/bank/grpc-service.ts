import type { ServiceImpl } from "@connectrpc/connect";
import type { Pool } from "pg";
import { BankService } from "../../gen/examples/bank/v1/bank_pb";
import {
  connectBranch,
  connectQueryPrepared,
  type BarrierOptions,
  type ConnectBranchCall,
} from "../../src/client";
import { accounts, checkMove } from "./accounts";
import { OPERATIONS, type Operation } from "./operations";

/** What the bank's gRPC service needs. */
export interface BankGrpcDeps {
  pool: Pool;
  /** The barrier table and how long a branch waits for a row lock. */
  barrier: BarrierOptions;
  /** TransferByMessage: sends a transfer as a 2-phase message; resolves with its gid. */
  transferByMessage(from: string, to: string, amount: number): Promise<string>;
}

/** The bank as a Connect service (`examples.bank.v1.BankService`), every operation behind the barrier. */
export function bankGrpcService(deps: BankGrpcDeps): ServiceImpl<typeof BankService> {
  const op = (name: Operation) =>
    connectBranch<{ user: string; amount: bigint }>(({ request, barrier }) =>
      barrier(deps.barrier).call(deps.pool, (tx) =>
        OPERATIONS[name](tx, checkMove({ user: request.user, amount: Number(request.amount) })),
      ),
    );
  return {
    transOut: op("TransOut"),
    transOutRevert: op("TransOutRevert"),
    transIn: op("TransIn"),
    transInRevert: op("TransInRevert"),
    transOutTry: op("TransOutTry"),
    transOutConfirm: op("TransOutConfirm"),
    transOutCancel: op("TransOutCancel"),
    transInTry: op("TransInTry"),
    transInConfirm: op("TransInConfirm"),
    transInCancel: op("TransInCancel"),
    transferByMessage: connectBranch(
      async ({ request }: ConnectBranchCall<{ from: string; to: string; amount: bigint }>) => ({
        gid: await deps.transferByMessage(request.from, request.to, Number(request.amount)),
      }),
    ),
    queryPrepared: connectQueryPrepared(deps.pool, deps.barrier),
    getBalances: async () => ({
      accounts: (await accounts(deps.pool)).map((a) => ({
        ...a,
        balance: BigInt(a.balance),
        frozen: BigInt(a.frozen),
      })),
    }),
  };
}
