import { invalidField } from "../core/errors";
import type { BranchRegistration } from "../core/model";

/** The keys every registration has; the rest are the kind's own fields (tcc: confirm, cancel; …). */
const COMMON = new Set(["gid", "trans_type", "branch_id", "data"]);

/**
 * dtm's registerBranch body: a flat JSON object of strings (`gid`, `trans_type`, `branch_id`, `data`
 * — the branch's body — and the kind's own keys: tcc `confirm`/`cancel`, xa `url`, workflow `op`,
 * `status`). A null is an absent key; any other non-string value is bad input naming its key.
 */
export function parseDtmRegistration(raw: unknown): BranchRegistration {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidField(["body"], "must be a JSON object of strings");
  }
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null) continue;
    if (typeof value !== "string") throw invalidField([key], "must be a string");
    flat[key] = value;
  }
  const fields = Object.fromEntries(Object.entries(flat).filter(([key]) => !COMMON.has(key)));
  return {
    gid: flat.gid ?? "",
    transType: flat.trans_type ?? "",
    branchId: flat.branch_id ?? "",
    fields,
    payload: Buffer.from(flat.data ?? ""),
  };
}
