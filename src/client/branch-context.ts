/**
 * Who is calling a branch and why: what the coordinator (or an application calling a TCC try) sends
 * as query parameters over HTTP and as `dtm-*` metadata over gRPC.
 *
 * @example
 * const ctx = branchContextFromQuery(new URL(req.url!, "http://x").searchParams);
 * if (ctx.op === "compensate") …
 */
export interface BranchContext {
  /** The global transaction id. */
  gid: string;
  /** `saga`, `tcc`, `xa`, `msg` or `workflow`. */
  transType: string;
  /** `01`, `02`, … (nested TCC branches: `0101`, …). */
  branchId: string;
  /** `action`, `compensate`, `try`, `confirm`, `cancel`, `commit`, `rollback`, `msg`, … */
  op: string;
  /** The coordinator's address when an application calls (a TCC try); empty when the coordinator calls. */
  dtm: string;
  /** An XA action's phase-2 URL (where the coordinator commits or rolls the branch back); absent otherwise. */
  phase2Url?: string;
}

const KEYS = {
  gid: "gid",
  transType: "trans_type",
  branchId: "branch_id",
  op: "op",
  dtm: "dtm",
  phase2Url: "phase2_url",
} as const;

/**
 * The context of an HTTP branch call, from its query parameters (absent ones are empty).
 *
 * @example
 * branchContextFromQuery(new URLSearchParams("gid=g1&trans_type=saga&branch_id=01&op=action"));
 */
export function branchContextFromQuery(params: URLSearchParams): BranchContext {
  return fromLookup((key) => params.get(key));
}

/**
 * The context of a gRPC branch call, from its `dtm-*` metadata (absent keys are empty).
 *
 * @example
 * branchContextFromMetadata((key) => context.requestHeader.get(key)); // a Connect handler
 */
export function branchContextFromMetadata(get: (key: string) => string | null | undefined): BranchContext {
  return fromLookup((key) => get(`dtm-${key}`));
}

function fromLookup(get: (key: string) => string | null | undefined): BranchContext {
  const out = {} as BranchContext;
  for (const [field, key] of Object.entries(KEYS)) out[field as keyof BranchContext] = get(key) ?? "";
  if (out.phase2Url === "") delete out.phase2Url; // only an XA action has one
  return out;
}
