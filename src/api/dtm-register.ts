import { invalidField } from "../core/errors";
import type { BranchRegistration } from "../core/model";
import type { AbortRequest } from "../core/engine";
import { bool, str } from "./dtm-fields";

/**
 * dtm's registerBranch body (§2.4 of the protocol): a flat JSON object of strings — `gid`,
 * `trans_type`, `branch_id`, `data` (the branch body), and the kind's own keys (tcc: `confirm`,
 * `cancel`; xa: `url`; workflow: `op`, `status`). Keys a kind does not know are ignored (dtm's Node
 * SDK also sends `try` and `status`); a value that is not a string is bad input (dtm: 400 too).
 */
export function parseDtmRegistration(raw: unknown): BranchRegistration {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidField(["body"], "must be a JSON object of strings");
  }
  const fields: Record<string, string> = {};
  for (const key of Object.keys(raw)) fields[key] = str(raw as Record<string, unknown>, key);
  const { gid = "", trans_type: transType = "", branch_id: branchId = "", data = "", ...rest } = fields;
  return registration(gid, transType, branchId, rest, Buffer.from(data));
}

/** A registration from its parts (dtm's gRPC DtmBranchRequest: `Data` holds the kind's keys, `BusiPayload` the body). */
export function registration(
  gid: string,
  transType: string,
  branchId: string,
  fields: Record<string, string>,
  payload: Buffer,
): BranchRegistration {
  if (gid === "") throw invalidField(["gid"], "is required");
  if (transType === "") throw invalidField(["trans_type"], "is required");
  return { gid, transType, branchId, fields, payload };
}

/**
 * dtm's abort body: the transaction body, of which abort reads `gid`, `trans_type` (which must be
 * the stored kind) and `rollback_reason`; `wait_result` waits for the rollback's first pass (dtm
 * reads it from what was stored at prepare; either asks for it here).
 */
export function parseDtmAbort(raw: unknown): AbortRequest {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidField(["body"], "must be a JSON object");
  }
  const b = raw as Record<string, unknown>;
  return abortRequest(
    str(b, "gid"),
    str(b, "trans_type"),
    str(b, "rollback_reason"),
    bool(b, "wait_result", ["options", "wait_result"]),
  );
}

/** An abort from its parts; `wait` false leaves it to the stored option. */
export function abortRequest(gid: string, transType: string, reason: string, wait: boolean): AbortRequest {
  // the gid is named first, as dtm's clients expect of an empty request (the engine checks the rest)
  if (gid === "") throw invalidField(["gid"], "is required");
  if (transType === "") throw invalidField(["trans_type"], "is required");
  return { gid, transType, rollbackReason: reason, waitResult: wait || undefined };
}
