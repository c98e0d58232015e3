import { create, toBinary } from "@bufbuild/protobuf";
import { BankService, TransOutRequestSchema } from "../../gen/examples/bank/v1/bank_pb";
import type { Payload } from "../../src/client";

/** Where the bank's branch operations are, and how their payload is written, over one protocol. */
export interface BankEndpoint {
  /** The branch URL of an operation (`TransOut`, `TransInTry`, …). */
  url(operation: string): string;
  /** The payload of a move of `amount` on `user`'s account. */
  move(user: string, amount: number): Payload;
}

/**
 * The bank over HTTP: `http://host:port/api/bank/<operation>`, JSON bodies.
 *
 * @example
 * const bank = httpBank("http://127.0.0.1:8081/api/bank");
 */
export function httpBank(base: string): BankEndpoint {
  return { url: (op) => `${base}/${op}`, move: (user, amount) => ({ user, amount }) };
}

/**
 * The bank over gRPC: `host:port/examples.bank.v1.BankService/<operation>`, protobuf bodies (every
 * operation's request has the same fields, so one encoding serves them all).
 *
 * @example
 * const bank = grpcBank("127.0.0.1:8082");
 */
export function grpcBank(target: string): BankEndpoint {
  return {
    url: (op) => `${target}/${BankService.typeName}/${op}`,
    move: (user, amount) =>
      toBinary(TransOutRequestSchema, create(TransOutRequestSchema, { user, amount: BigInt(amount) })),
  };
}
