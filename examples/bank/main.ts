import { Coordinator } from "../../src/client";
import { BankService } from "./bank-service";

/**
 * `npm run example:bank`: the sample bank on 127.0.0.1 — HTTP on BANK_PORT (8081), gRPC on
 * BANK_GRPC_PORT (8082). Accounts alice and bob with 1000 each, in Postgres at BANK_DATABASE_URL, or
 * in an embedded PGlite (in memory; in BANK_DATA_DIR to keep them). Transfers by message go through
 * the coordinator at DTX_URL (default http://127.0.0.1:36789; `host:port` for gRPC).
 */
async function main(): Promise<void> {
  const bank = await BankService.start({
    port: Number(process.env.BANK_PORT ?? 8081),
    grpcPort: Number(process.env.BANK_GRPC_PORT ?? 8082),
    databaseUrl: process.env.BANK_DATABASE_URL,
    dataDir: process.env.BANK_DATA_DIR,
    coordinator: Coordinator.connect(process.env.DTX_URL ?? "http://127.0.0.1:36789"),
  });
  process.stdout.write(
    `bank: HTTP ${bank.base} (balances: GET ${bank.base}/balances), gRPC ${bank.grpcTarget} (examples.bank.v1.BankService)\n`,
  );
  const stop = (): void => void bank.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
