/**
 * The sample bank's `host` (BANK_HOST): both ports listen on it, and the URLs the bank builds for
 * itself name it — IPv6 in brackets — so clients and the coordinator reach them (here: `::1`, loopback).
 */
import { BankService } from "../../examples/bank/bank-service";
import { httpBank } from "../../examples/bank/endpoints";
import { transferBySaga } from "../../examples/bank/transfer-saga";
import { Coordinator } from "../../src/client";
import { TestCoordinator } from "../support/coordinator";
import { openTestDb, type TestDb } from "../support/test-db";

let dtx: TestCoordinator;
let db: TestDb;
let bank: BankService;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  db = await openTestDb();
  const barrierTable = db.kind === "postgres" ? `${db.schema}.barrier` : undefined;
  bank = await BankService.start({ host: "::1", port: 0, grpcPort: 0, pool: db.pool, barrierTable });
});
afterAll(async () => {
  await bank?.close();
  await db?.close();
  await dtx?.close();
});

test("on ::1 the bank's HTTP base is http://[::1]:port/api/bank, and a saga through it moves the money", async () => {
  expect(bank.grpcTarget).toMatch(/^\[::1\]:\d+$/);
  expect(bank.base).toMatch(/^http:\/\/\[::1\]:\d+\/api\/bank$/);
  expect(await (await fetch(`${bank.base}/balances`)).json()).toEqual({ alice: 1000, bob: 1000 });
  const http = Coordinator.http(dtx.base);
  try {
    await transferBySaga(http, httpBank(bank.base), "alice", "bob", 30);
  } finally {
    await http.close();
  }
  expect(await bank.balances()).toEqual({ alice: 970, bob: 1030 });
});
