import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { createServer as createH2cServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Pool } from "pg";
import { BankService as BankServiceDesc } from "../../gen/examples/bank/v1/bank_pb";
import { Coordinator, type BarrierOptions, type Workflows } from "../../src/client";
import { accounts } from "./accounts";
import { openBankDb, prepareBankDb } from "./db";
import { grpcBank, httpBank } from "./endpoints";
import { bankGrpcService } from "./grpc-service";
import { bankHttpRoutes } from "./http-routes";
import { transferByMessage } from "./transfer-msg";
import { registerTransferWorkflow, transferByWorkflow } from "./transfer-workflow";

/** Where and how the bank runs. */
export interface BankOptions {
  /** The HTTP port (0: any free port). Default 8081. */
  port?: number;
  /** The gRPC (h2c) port (0: any free port). Default 8082. */
  grpcPort?: number;
  /**
   * The address both ports listen on. Default 127.0.0.1; `0.0.0.0` (or `::`) for every interface —
   * the bank has no authentication, so only on a network you trust.
   */
  host?: string;
  /** A pool on the bank's database; default: Postgres at `databaseUrl`, else PGlite in `dataDir`. */
  pool?: Pool;
  /** A postgres:// URL; empty: PGlite. */
  databaseUrl?: string;
  /** PGlite's data directory. Default `memory://` (nothing kept). */
  dataDir?: string;
  /** The accounts opened at start (when missing). Default alice and bob with 1000 each. */
  accounts?: Record<string, number>;
  /** The barrier table. Default `dtm_barrier.barrier`. */
  barrierTable?: string;
  /**
   * How long a branch's transaction waits for a row lock (Postgres' `lock_timeout`, set per
   * transaction) before it rolls back and answers ONGOING — a prepared XA branch holds its rows until
   * its phase 2. Positive integer, ms. Default 3000 (the SDK's).
   */
  lockWaitMs?: number;
  /**
   * The coordinator TransferByMessage sends its messages through, and TransferByWorkflow runs its
   * workflows with (an HTTP one). Default: HTTP on localhost:36789.
   */
  coordinator?: Coordinator;
}

/**
 * The sample bank: accounts in Postgres (PGlite when no URL is given), every branch operation behind
 * the barrier, served over HTTP (`/api/bank/<operation>`, JSON) and over gRPC
 * (`examples.bank.v1.BankService`, proto/examples/bank/v1/bank.proto) on a second port.
 */
export class BankService {
  private readonly http: Server;
  private readonly grpc: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private workflows?: Workflows;

  private constructor(
    /** The bank's database. */
    readonly pool: Pool,
    private readonly coordinator: Coordinator,
    private readonly barrier: BarrierOptions,
    private readonly release: () => Promise<void>,
  ) {
    const deps = {
      pool,
      barrier,
      transferByMessage: (from: string, to: string, amount: number) =>
        this.transferByMessage(from, to, amount),
    };
    this.http = createServer(
      bankHttpRoutes({
        ...deps,
        transferByMessage: async (call) => {
          const { from, to, amount } = call.json<{ from: string; to: string; amount: number }>();
          return { gid: await this.transferByMessage(from, to, amount) };
        },
        transferByWorkflow: async (call) => {
          const { gid, from, to, amount } = call.json<{
            gid?: string;
            from: string;
            to: string;
            amount: number;
          }>();
          return { gid: await this.transferByWorkflow(from, to, amount, gid) };
        },
        resumeWorkflow: (call) => this.workflowsOrThrow().resumeHandler()(call),
      }),
    );
    this.grpc = createH2cServer(
      connectNodeAdapter({ routes: (r) => r.service(BankServiceDesc, bankGrpcService(deps)) }),
    );
    this.grpc.on("session", (session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
  }

  /** Opens the database (creating the tables and accounts) and listens. */
  static async start(options: BankOptions = {}): Promise<BankService> {
    const barrier = { table: options.barrierTable, lockWaitMs: checkLockWaitMs(options.lockWaitMs) };
    const db = options.pool
      ? { pool: options.pool, close: async () => {} }
      : await openBankDb(options.databaseUrl, options.dataDir);
    const ownCoordinator = !options.coordinator;
    const coordinator = options.coordinator ?? Coordinator.http("http://127.0.0.1:36789");
    const bank = new BankService(db.pool, coordinator, barrier, async () => {
      if (ownCoordinator) await coordinator.close();
      await db.close();
    });
    try {
      await prepareBankDb(db.pool, options.accounts ?? { alice: 1000, bob: 1000 }, options.barrierTable);
      const host = options.host ?? "127.0.0.1";
      await listen(bank.http, options.port ?? 8081, host);
      await listen(bank.grpc, options.grpcPort ?? 8082, host);
      if (coordinator.protocol === "http") {
        bank.workflows = coordinator.workflows(`${bank.base}/workflow/resume`);
        registerTransferWorkflow(bank.workflows, httpBank(bank.base));
      }
      return bank;
    } catch (err) {
      await bank.close();
      throw err;
    }
  }

  /**
   * `http://host:port/api/bank`: the base of the HTTP branch URLs, and of the URLs the bank gives the
   * coordinator for its own transfers (the message's credit, the workflow's resume callback). Bound
   * to every address (`0.0.0.0`, `::`), the host is loopback.
   */
  get base(): string {
    return `http://${urlHost(this.http.address() as AddressInfo)}/api/bank`;
  }

  /** `host:port` of the gRPC service. */
  get grpcTarget(): string {
    return urlHost(this.grpc.address() as AddressInfo);
  }

  /** Every account's balance. */
  async balances(): Promise<Record<string, number>> {
    return Object.fromEntries((await accounts(this.pool)).map((a) => [a.name, a.balance]));
  }

  /**
   * A transfer as a 2-phase message sent by this bank (transfer-msg.ts), with the credit delivered
   * over the protocol the coordinator is reached by. Resolves with the message's gid.
   */
  transferByMessage(from: string, to: string, amount: number): Promise<string> {
    const self = this.coordinator.protocol === "grpc" ? grpcBank(this.grpcTarget) : httpBank(this.base);
    return transferByMessage(this.coordinator, self, this.pool, { from, to, amount }, this.barrier);
  }

  /**
   * A transfer as the bank's workflow (transfer-workflow.ts) run by this bank, under `gid` (default
   * a fresh one). Resolves with the gid once it succeeded; throws a BranchFailure when it was rolled
   * back, and other errors when it did not finish (the coordinator resumes it through the bank).
   */
  transferByWorkflow(from: string, to: string, amount: number, gid: string = randomUUID()): Promise<string> {
    return transferByWorkflow(this.workflowsOrThrow(), gid, { from, to, amount });
  }

  private workflowsOrThrow(): Workflows {
    if (!this.workflows) throw new Error("workflows need an HTTP coordinator (DTX_URL=http://…)");
    return this.workflows;
  }

  /** Stops listening and closes the database (unless it was given). */
  async close(): Promise<void> {
    const closed = (server: Server | Http2Server) =>
      new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    this.http.closeAllConnections();
    for (const session of this.sessions) session.close();
    await Promise.all([closed(this.http), closed(this.grpc)]);
    await this.release();
  }
}

/** `host:port` of a bound address for a URL: a wildcard address as loopback, IPv6 in brackets. */
function urlHost({ address, port }: AddressInfo): string {
  const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function listen(server: Server | Http2Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
}

/** `lockWaitMs` as given (undefined: the SDK's default); anything but a positive integer is refused. */
function checkLockWaitMs(ms: number | undefined): number | undefined {
  if (ms === undefined || (Number.isSafeInteger(ms) && ms > 0)) return ms;
  throw new TypeError(`lockWaitMs must be a positive integer (milliseconds), not ${JSON.stringify(ms)}`);
}
