import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { transferOf, TwoPhaseBank } from "./two-phase-routes";

/**
 * A sample branch service: a bank with in-memory accounts that moves money in saga steps.
 *
 *   POST /api/bank/TransOut        {"user":"alice","amount":30}  debit  (409 FAILURE: insufficient funds)
 *   POST /api/bank/TransOutRevert  {"user":"alice","amount":30}  undo the debit
 *   POST /api/bank/TransIn         {"user":"bob","amount":30}    credit (409 FAILURE: no such account)
 *   POST /api/bank/TransInRevert   {"user":"bob","amount":30}    undo the credit
 *   GET  /api/bank/balances                                      {"alice":1000,"bob":1000}
 *   /api/bank/tcc/…, /api/bank/xa/…                              TCC and XA (two-phase-routes.ts)
 *
 * Every operation is idempotent and order-safe the way dtm's barrier makes it: a repeated call is
 * answered without effect, a compensation whose action never ran does nothing ("null
 * compensation"), and an action arriving after its compensation does nothing ("hanging").
 */
export class BankService {
  readonly balances = new Map<string, number>([
    ["alice", 1000],
    ["bob", 1000],
  ]);
  private readonly done = new Set<string>();
  /** The TCC and XA operations (two-phase-routes.ts). */
  readonly twoPhase = new TwoPhaseBank(this.balances);

  private constructor(private readonly server: Server) {}

  /** Listens on host:port (port 0: any free port). */
  static async start(port = 8081, host = "127.0.0.1"): Promise<BankService> {
    let bank: BankService | undefined;
    const server = createServer((req, res) => bank!.handle(req, res));
    bank = new BankService(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, resolve);
    });
    return bank;
  }

  /** `http://host:port/api/bank` */
  get base(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `http://${address}:${port}/api/bank`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://bank");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (url.pathname === "/api/bank/balances") return reply(res, 200, Object.fromEntries(this.balances));
    const op = url.pathname.replace("/api/bank/", "");
    if (/^(tcc|xa)\//.test(op)) {
      const a = await this.twoPhase.handle(op, url.searchParams, Buffer.concat(chunks));
      return reply(res, a.status, a.body);
    }
    const moves: Record<string, number> = { TransOut: -1, TransOutRevert: 1, TransIn: 1, TransInRevert: -1 };
    if (!(op in moves)) return reply(res, 404, { error: `no operation ${op}` });
    const parsed = transferOf(Buffer.concat(chunks));
    if ("status" in parsed) return reply(res, parsed.status, parsed.body);
    const { user, amount } = parsed;
    const gid = url.searchParams.get("gid") ?? "";
    const branch = url.searchParams.get("branch_id") ?? "";
    const key = (o: string): string => `${gid}/${branch}/${o}`;
    const isCompensation = op.endsWith("Revert");
    const origin = key(isCompensation ? op.replace("Revert", "") : op);
    if (isCompensation && !this.done.has(origin)) {
      this.done.add(origin); // the action never ran: block it if it arrives late
      this.done.add(key(op));
      return reply(res, 200, { dtm_result: "SUCCESS", note: "null compensation" });
    }
    if (this.done.has(key(op))) return reply(res, 200, { dtm_result: "SUCCESS", note: "already done" });
    const balance = this.balances.get(user);
    if (balance === undefined) return reply(res, 409, { dtm_result: "FAILURE", error: `no account ${user}` });
    const next = balance + moves[op]! * amount;
    if (next < 0) return reply(res, 409, { dtm_result: "FAILURE", error: `insufficient funds for ${user}` });
    this.balances.set(user, next);
    this.done.add(key(op));
    return reply(res, 200, { dtm_result: "SUCCESS" });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
