import { request } from "undici";
import { BranchCallError, BranchFailure, BranchOngoing } from "./errors";
import { splitGrpcUrl, type GrpcChannels } from "./grpc-channels";
import { envelopeMessage, grpcVerdict, httpVerdict, type Verdict } from "./verdict";

/**
 * What a branch answered with success: the HTTP body or the gRPC reply message's bytes.
 *
 * @example
 * const reply = await tcc.callBranch({ try: `${bank}/TransOutTry`, confirm, cancel, payload });
 * reply.json(); // the try's JSON answer; over gRPC: fromBinary(TransOutTryResponseSchema, reply.body)
 */
export interface BranchReply {
  body: Uint8Array;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = unknown>(): T;
}

/** One call the SDK makes to a branch itself: a TCC try, a message check-back. */
export interface BranchCallRequest {
  url: string;
  gid: string;
  transType: string;
  branchId: string;
  op: string;
  /** The coordinator's address, sent as `dtm` so the branch can register nested branches. */
  dtm: string;
  payload: Uint8Array;
  headers: Record<string, string>;
  timeoutMs: number;
  /** An XA action's own URL, where the coordinator calls phase 2 (sent as `phase2_url`). */
  phase2Url?: string;
}

/**
 * Calls a branch the way the coordinator does (§4.2, §4.4 of the protocol): an http(s) URL gets the
 * query parameters `dtm`, `gid`, `trans_type`, `branch_id`, `op` (and an XA action's `phase2_url`; POST with the payload, GET when
 * there is none); `host:port/pkg.Service/Method` gets the same as `dtm-*` metadata. FAILURE and
 * ONGOING answers throw {@link BranchFailure} and {@link BranchOngoing}, anything else but success
 * {@link BranchCallError}.
 */
export async function callBranch(channels: GrpcChannels, r: BranchCallRequest): Promise<BranchReply> {
  const context: Record<string, string> = {
    dtm: r.dtm,
    gid: r.gid,
    trans_type: r.transType,
    branch_id: r.branchId,
    op: r.op,
  };
  if (r.phase2Url !== undefined) context.phase2_url = r.phase2Url;
  if (/^https?:\/\//.test(r.url)) {
    const url = new URL(r.url);
    for (const [k, v] of Object.entries(context)) url.searchParams.set(k, v);
    let status: number;
    let body: Uint8Array;
    try {
      const res = await request(url, {
        method: r.payload.length > 0 ? "POST" : "GET",
        headers: { "content-type": "application/json", ...r.headers },
        body: r.payload.length > 0 ? r.payload : undefined,
        signal: AbortSignal.timeout(r.timeoutMs),
      });
      status = res.statusCode;
      body = new Uint8Array(await res.body.arrayBuffer());
    } catch (err) {
      throw new BranchCallError(r.url, undefined, (err as Error).message);
    }
    const text = Buffer.from(body).toString();
    if (status === 200 && httpVerdict(status, text) === undefined) return branchReply(body);
    throw answerError(r.url, status, httpVerdict(status, text), envelopeMessage(text));
  }
  const { target, method } = splitGrpcUrl(r.url);
  const metadata: Record<string, string> = { ...r.headers };
  for (const [k, v] of Object.entries(context)) metadata[`dtm-${k}`] = v;
  const answer = await channels.call(target, method, r.payload, metadata, r.timeoutMs);
  if (answer.ok) return branchReply(answer.reply);
  throw answerError(r.url, answer.code, grpcVerdict(answer.code, answer.message), answer.message);
}

function answerError(url: string, status: number | string, verdict: Verdict, message: string): Error {
  const text = `${url} answered ${status}: ${message}`;
  if (verdict === "FAILURE") return new BranchFailure(text);
  if (verdict === "ONGOING") return new BranchOngoing(text);
  return new BranchCallError(url, status, message);
}

/** A success answer's body as a {@link BranchReply}. */
export function branchReply(body: Uint8Array): BranchReply {
  return {
    body,
    text: () => Buffer.from(body).toString(),
    json: <T>() => JSON.parse(Buffer.from(body).toString()) as T,
  };
}
