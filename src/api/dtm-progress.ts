import type { TransWithBranches } from "../core/engine";
import { dtmBranchJson, dtmTransJson } from "./dtm-json";

/**
 * dtm's prepareWorkflow answer over HTTP: the stored transaction and its recorded progress, in the
 * shapes of the query route (what dtm's Go client decodes as `DtmProgressesReply`).
 */
export function dtmProgressesJson(found: TransWithBranches): Record<string, unknown> {
  return { transaction: dtmTransJson(found.trans), progresses: found.branches.map(dtmBranchJson) };
}

/**
 * An error answer of prepareWorkflow over HTTP. dtm's Go workflow client ignores the status code
 * and reads `transaction.status` from whatever body comes back (a body without `transaction` makes
 * it dereference nil), so every error carries one: a refusal (400, 409) as a `failed` transaction
 * whose reason is the error, which the client returns as a FAILURE; any other error (500) with
 * `progresses` set to the error text, which a protobuf-JSON decoder refuses, so the client returns
 * a plain error instead of running or failing the workflow, and the recovery worker resumes it later.
 */
export function dtmProgressesError(
  status: number,
  body: Record<string, string>,
  request: unknown,
): Record<string, unknown> {
  const gid = typeof request === "object" && request !== null ? (request as { gid?: unknown }).gid : "";
  const transaction = { gid: typeof gid === "string" ? gid : "" };
  if (status === 400 || status === 409) {
    return { ...body, transaction: { ...transaction, status: "failed", rollback_reason: body.message } };
  }
  return { ...body, transaction, progresses: body.message ?? "error" };
}
