import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The core names fields as dtm's HTTP body does (`steps[0].action`, `timeout_to_fail`). An adapter
 * whose request spells them otherwise renames the field at the start of an invalid-argument message,
 * so the error names what the caller actually sent.
 */
export function renameField(err: unknown, renames: Array<[RegExp, string]>): unknown {
  const e = ConnectError.from(err);
  if (e.code !== Code.InvalidArgument) return err;
  for (const [pattern, name] of renames) {
    if (pattern.test(e.rawMessage)) return new ConnectError(e.rawMessage.replace(pattern, name), e.code);
  }
  return err;
}

/** dtx.v1 SubmitSagaRequest names. */
export const nativeSagaFields: Array<[RegExp, string]> = [
  [/^steps/, "saga.steps"],
  [/^payloads/, "saga.steps"],
  [/^custom_data\.orders/, "saga.orders"],
  [/^(timeout_to_fail|request_timeout|retry_interval|retry_limit|branch_headers)/, "options.$1"],
];

/** dtm's DtmRequest names (gRPC). */
export const dtmGrpcFields: Array<[RegExp, string]> = [
  [/^gid/, "Gid"],
  [/^trans_type/, "TransType"],
  [/^steps/, "Steps"],
  [/^payloads/, "BinPayloads"],
  [/^custom_data/, "CustomedData"],
  [/^timeout_to_fail/, "TransOptions.TimeoutToFail"],
  [/^request_timeout/, "TransOptions.RequestTimeout"],
  [/^retry_interval/, "TransOptions.RetryInterval"],
  [/^retry_limit/, "TransOptions.RetryLimit"],
  [/^branch_headers/, "TransOptions.BranchHeaders"],
];
