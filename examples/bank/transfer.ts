import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { request } from "undici";
import { BankService } from "../../gen/examples/bank/v1/bank_pb";
import { Coordinator } from "../../src/client";
import { grpcBank, httpBank } from "./endpoints";
import { transferBySaga } from "./transfer-saga";
import { transferByTcc } from "./transfer-tcc";
import { transferByXa } from "./transfer-xa";

const USAGE = "usage: npm run example:transfer -- saga|tcc|xa|msg|workflow <from> <to> <amount> [--grpc]";
const MODES = ["saga", "tcc", "xa", "msg", "workflow"];

/**
 * `npm run example:transfer -- saga alice bob 30`: one transfer against the sample bank
 * (`npm run example:bank`) through a running coordinator, as a saga, TCC, XA (the bank on Postgres),
 * message or workflow, over HTTP or (`--grpc`, saga, TCC and message) gRPC; prints the outcome and the balances. DTX_URL / DTX_GRPC and BANK_URL / BANK_GRPC
 * say where they listen.
 */
async function main(argv: string[]): Promise<number> {
  const grpc = argv.includes("--grpc");
  const [mode, from, to, amountText] = argv.filter((a) => a !== "--grpc");
  const amount = Number(amountText);
  if (!MODES.includes(mode ?? "") || !from || !to || !Number.isSafeInteger(amount)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (grpc && (mode === "xa" || mode === "workflow")) {
    process.stderr.write(
      `${mode} runs over HTTP only in this example (the bank's XA and workflow routes are HTTP)\n`,
    );
    return 2;
  }
  const bankHttp = process.env.BANK_URL ?? "http://127.0.0.1:8081/api/bank";
  const bankGrpc = process.env.BANK_GRPC ?? "127.0.0.1:8082";
  const dtx = grpc
    ? Coordinator.grpc(process.env.DTX_GRPC ?? "127.0.0.1:36790")
    : Coordinator.http(process.env.DTX_URL ?? "http://127.0.0.1:36789");
  const bank = grpc ? grpcBank(bankGrpc) : httpBank(bankHttp);
  try {
    const gid =
      mode === "saga"
        ? await transferBySaga(dtx, bank, from, to, amount)
        : mode === "tcc"
          ? await transferByTcc(dtx, bank, from, to, amount)
          : mode === "xa"
            ? await transferByXa(dtx, bank, from, to, amount)
            : mode === "workflow"
              ? await askBank(bankHttp, "TransferByWorkflow", from, to, amount)
              : await askBankToSend(grpc ? bankGrpc : bankHttp, grpc, from, to, amount);
    process.stdout.write(
      `${mode} ${gid}: ${mode === "msg" ? "debited; the credit is on its way" : "done"}\n`,
    );
    return 0;
  } catch (err) {
    process.stdout.write(`${mode} failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await dtx.close();
    const balances = await request(`${bankHttp}/balances`).then(
      (res) => res.body.text(),
      (err: Error) => `the bank at ${bankHttp} is unreachable (${err.message})`,
    );
    process.stdout.write(`balances: ${balances}\n`);
  }
}

/** A message is sent by the bank that holds the debited account (transfer-msg.ts): ask it to. */
async function askBankToSend(
  bank: string,
  grpc: boolean,
  from: string,
  to: string,
  amount: number,
): Promise<string> {
  if (grpc) {
    const client = createClient(BankService, createGrpcTransport({ baseUrl: `http://${bank}` }));
    return (await client.transferByMessage({ from, to, amount: BigInt(amount) })).gid;
  }
  return askBank(bank, "TransferByMessage", from, to, amount);
}

/** Asks the bank over HTTP to run a transfer it sends (a message) or runs (a workflow) itself. */
async function askBank(
  bank: string,
  operation: string,
  from: string,
  to: string,
  amount: number,
): Promise<string> {
  const res = await request(`${bank}/${operation}`, {
    method: "POST",
    body: JSON.stringify({ from, to, amount }),
  });
  const body = (await res.body.json()) as { gid?: string; message?: string };
  if (res.statusCode !== 200) throw new Error(body.message ?? `the bank answered ${res.statusCode}`);
  return body.gid!;
}

void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
