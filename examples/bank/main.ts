import { BankService } from "./bank-service";

/** `npm run example:bank`: the sample bank branch service on 127.0.0.1:8081 (BANK_PORT to change). */
async function main(): Promise<void> {
  const bank = await BankService.start(Number(process.env.BANK_PORT ?? 8081));
  process.stdout.write(`bank branch service on ${bank.base} — balances: GET ${bank.base}/balances\n`);
  const stop = (): void => void bank.close().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

void main();
