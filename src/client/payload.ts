/**
 * What a branch receives as its body: bytes as they are (a protobuf message encoded with `toBinary`
 * for a gRPC branch), a string as UTF-8 text, anything else as its JSON text.
 *
 * @example
 * saga.add(`${bank}/TransOut`, `${bank}/TransOutRevert`, { user: "alice", amount: 30 });
 * saga.add(`${grpcBank}/TransOut`, `${grpcBank}/TransOutRevert`, toBinary(TransferSchema, transfer));
 */
export type Payload = Uint8Array | string | JsonValue;

/** A value JSON can carry. @example const v: JsonValue = { user: "bob", tags: ["vip"] }; */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

/**
 * The bytes of a payload (undefined: none).
 *
 * @example
 * payloadBytes({ user: "bob" }); // the UTF-8 bytes of {"user":"bob"}
 */
export function payloadBytes(payload: Payload | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  if (payload instanceof Uint8Array) return payload;
  return Buffer.from(typeof payload === "string" ? payload : JSON.stringify(payload));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The payload as text, for dtm's HTTP routes (which carry payloads as JSON strings).
 *
 * @example
 * payloadText(Buffer.from("{}"), "steps[0]"); // "{}"
 * @throws TypeError naming `where` when the bytes are not UTF-8 (binary payloads need the gRPC coordinator)
 */
export function payloadText(bytes: Uint8Array, where: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new TypeError(
      `${where}: the payload is not UTF-8 text; dtm's HTTP protocol carries text payloads (use a gRPC coordinator for binary ones)`,
    );
  }
}
