import { Coordinator } from "../../src/client";
import { BankService } from "./bank-service";

/**
 * `npm run example:bank`: the sample bank on BANK_HOST (127.0.0.1) — HTTP on BANK_PORT (8081), gRPC on
 * BANK_GRPC_PORT (8082). Accounts alice and bob with 1000 each, in Postgres at BANK_DATABASE_URL, or
 * in an embedded PGlite (in memory; in BANK_DATA_DIR to keep them). Transfers by message go through
 * the coordinator at DTX_URL (default http://127.0.0.1:36789; `host:port` for gRPC). A branch waits
 * BANK_LOCK_WAIT_MS (default 3000) for a row lock, then answers ONGOING.
 */
async function main(): Promise<void> {
  const bank = await BankService.start({
    host: process.env.BANK_HOST || "127.0.0.1",
    port: Number(process.env.BANK_PORT ?? 8081),
    grpcPort: Number(process.env.BANK_GRPC_PORT ?? 8082),
    databaseUrl: process.env.BANK_DATABASE_URL,
    dataDir: process.env.BANK_DATA_DIR,
    lockWaitMs: lockWaitMs(process.env.BANK_LOCK_WAIT_MS),
    coordinator: Coordinator.connect(process.env.DTX_URL ?? "http://127.0.0.1:36789"),
  });
  process.stdout.write(
    `bank: HTTP ${bank.base} (balances: GET ${bank.base}/balances), gRPC ${bank.grpcTarget} (examples.bank.v1.BankService)\n`,
  );
  const stop = (): void => void bank.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** BANK_LOCK_WAIT_MS as a number of milliseconds (unset: the default); refuses anything else. */
function lockWaitMs(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new TypeError(
      `BANK_LOCK_WAIT_MS must be a positive integer (milliseconds), not ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

void main();
