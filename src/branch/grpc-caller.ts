import * as http2 from "node:http2";
import { status as GrpcStatus } from "@grpc/grpc-js";
import type { BranchRequest, BranchResult } from "../core/branch-caller";
import { GrpcChannel } from "./grpc-channel";
import { refusedHeader } from "./refused-header";
import { classifyGrpc } from "./result";

/** Open channels kept at most (one per branch target). */
const MAX_CHANNELS = 256;

/** A reply larger than this fails the call, as grpc-js's default receive limit does (4 MiB). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM } =
  http2.constants;

/** Splits `host:port/pkg.Service/Method` at the first `/` into a dial target and a method path. */
export function parseGrpcUrl(url: string): { target: string; method: string } | null {
  if (url.includes("://")) return null;
  const slash = url.indexOf("/");
  if (slash <= 0 || slash === url.length - 1) return null;
  return { target: url.slice(0, slash), method: url.slice(slash) };
}

/**
 * Calls gRPC branches: a unary call over HTTP/2 (node:http2), the payload bytes sent as the request
 * message unchanged (the application encoded them), the reply read and discarded; `dtm-*` metadata and
 * `branch_headers` go along, the timeout as `grpc-timeout`. The status comes from the trailers, or
 * as grpc-js derives it when there are none (HTTP status, stream reset, lost connection). One channel
 * per target, round robin over its resolved addresses (grpc-channel.ts). Written for this one use: a
 * grpc-js client call did several times the work per call (interceptors, retry buffering, a captured
 * stack, call objects and emitters; bench/README.md, issue 13).
 */
export class GrpcCaller {
  private readonly channels = new Map<string, GrpcChannel | Promise<GrpcChannel>>();
  private closed = false;

  /**
   * Calls the branch; never throws. The deadline covers finding the address and connecting too. A
   * call that never reached the branch (refused by the server: over its concurrent streams before its
   * SETTINGS arrived, or past a GOAWAY's last stream; or the session closed under it) is made once
   * more, as grpc-js's transparent retry does.
   */
  async call(req: BranchRequest): Promise<BranchResult> {
    if (this.closed) return { outcome: "ERROR", detail: "the coordinator is stopping" };
    const refused = refusedHeader(req, "grpc");
    if (refused) return refused;
    const parsed = parseGrpcUrl(req.url);
    if (!parsed) return { outcome: "ERROR", detail: `bad grpc branch url ${JSON.stringify(req.url)}` };
    const deadline = Date.now() + req.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const s = this.session(parsed.target);
      const session = s instanceof Promise ? await connectedBy(s, deadline, req.timeoutMs) : s;
      if ("outcome" in session) return session;
      const result = await unary(session, parsed.method, req, deadline, attempt === 1 && !this.closed);
      if (result) return result;
    }
  }

  /** A connected session to `target`, or the promise of one. */
  private session(target: string): http2.ClientHttp2Session | Promise<http2.ClientHttp2Session> {
    const channel = this.channel(target);
    return channel instanceof GrpcChannel ? channel.session() : channel.then((c) => c.session());
  }

  /** The channel of a target, most recently used last; beyond MAX_CHANNELS the least recent is closed. */
  private channel(target: string): GrpcChannel | Promise<GrpcChannel> {
    let c = this.channels.get(target);
    if (c instanceof GrpcChannel && c.stale) {
      c.close();
      c = undefined;
    }
    if (c) {
      this.channels.delete(target);
    } else {
      const opening = GrpcChannel.open(target).then(
        (opened) => {
          if (this.channels.get(target) === opening) this.channels.set(target, opened);
          if (this.closed) opened.close();
          return opened;
        },
        (err: Error) => {
          if (this.channels.get(target) === opening) this.channels.delete(target);
          throw new Error(`name resolution failed for target ${target}: ${err.message}`);
        },
      );
      c = opening;
    }
    this.channels.set(target, c);
    if (this.channels.size > MAX_CHANNELS) {
      // branch URLs come from requests: keep the number of open channels bounded
      const [oldest, channel] = this.channels.entries().next().value as [string, GrpcChannel];
      this.channels.delete(oldest);
      void Promise.resolve(channel).then(
        (ch) => ch.close(),
        () => {},
      ); // calls in flight finish first
    }
    return c;
  }

  /** Refuses new calls and closes every channel. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.channels.values())
      void Promise.resolve(c).then(
        (ch) => ch.close(),
        () => {},
      );
    this.channels.clear();
  }
}

/** Waits for a connection until the deadline: the session, or the call's result. */
function connectedBy(
  connecting: Promise<http2.ClientHttp2Session>,
  deadline: number,
  timeoutMs: number,
): Promise<http2.ClientHttp2Session | BranchResult> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(deadlineExceeded(timeoutMs)), deadline - Date.now());
    connecting.then(
      (session) => {
        clearTimeout(timer);
        resolve(session);
      },
      (err: Error) => {
        clearTimeout(timer);
        resolve(
          classifyGrpc(GrpcStatus.UNAVAILABLE, `No connection established. Last error: ${err.message}`),
        );
      },
    );
  });
}

function deadlineExceeded(timeoutMs: number): BranchResult {
  return classifyGrpc(GrpcStatus.DEADLINE_EXCEEDED, `Deadline exceeded after ${timeoutMs} ms`);
}

/** Errors of a stream that never left: its session was closing or gone, or out of stream ids. */
const UNSENT = new Set(["ERR_HTTP2_GOAWAY_SESSION", "ERR_HTTP2_INVALID_SESSION", "ERR_HTTP2_OUT_OF_STREAMS"]);

/**
 * One unary call on a connected session; never rejects. With `retryable`, a call that never reached
 * the branch resolves null instead of its error (the caller makes it again).
 */
function unary(
  session: http2.ClientHttp2Session,
  method: string,
  req: BranchRequest,
  deadline: number,
  retryable: boolean,
): Promise<BranchResult | null> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return Promise.resolve(deadlineExceeded(req.timeoutMs));
  return new Promise((resolve) => {
    const headers: http2.OutgoingHttpHeaders = {
      "dtm-gid": req.gid,
      "dtm-trans_type": req.transType,
      "dtm-branch_id": req.branchId,
      "dtm-op": req.op,
      "dtm-dtm": "",
    };
    for (const name in req.headers) headers[name.toLowerCase()] = req.headers[name];
    headers[":method"] = "POST";
    headers[":path"] = method;
    headers["content-type"] = "application/grpc";
    headers.te = "trailers";
    headers["grpc-timeout"] = grpcTimeout(remaining);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      resolve(
        retryable && code && UNSENT.has(code)
          ? null
          : classifyGrpc(GrpcStatus.UNAVAILABLE, (err as Error).message),
      );
      return;
    }
    let grpcStatus: number | undefined;
    let message = "";
    let httpStatus = 0;
    let received = 0;
    let failure: NodeJS.ErrnoException | undefined;
    let done = false;
    const finish = (result: BranchResult | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish(deadlineExceeded(req.timeoutMs));
      stream.close(NGHTTP2_CANCEL);
    }, remaining);
    const readStatus = (h: http2.IncomingHttpHeaders) => {
      const code = h["grpc-status"];
      if (typeof code !== "string") return;
      grpcStatus = Number(code);
      message = decodeMessage(h["grpc-message"]);
    };
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      readStatus(h); // a Trailers-Only answer
    });
    stream.on("trailers", readStatus);
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_REPLY_BYTES + 5) {
        finish(
          classifyGrpc(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `Received message larger than max (${received} vs. ${MAX_REPLY_BYTES})`,
          ),
        );
        stream.close(NGHTTP2_CANCEL);
      }
    });
    stream.on("error", (err: NodeJS.ErrnoException) => {
      failure = err;
      // no stream id left on this connection: closing it makes the channel open a new one
      if (err.code === "ERR_HTTP2_OUT_OF_STREAMS") session.close();
    });
    stream.on("close", () => {
      const unsent =
        (httpStatus === 0 && stream.rstCode === NGHTTP2_REFUSED_STREAM) ||
        (failure?.code !== undefined && UNSENT.has(failure.code));
      finish(
        retryable && unsent
          ? null
          : outcome(grpcStatus, message, httpStatus, received, stream.rstCode, failure),
      );
    });
    const payload = req.payload;
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0; // not compressed
    prefix.writeUInt32BE(payload.length, 1);
    if (payload.length < 16_384) {
      stream.end(Buffer.concat([prefix, payload], 5 + payload.length));
    } else {
      stream.write(prefix);
      stream.end(payload);
    }
  });
}

/** The call's result once its stream closed, as grpc-js would report it. */
function outcome(
  grpcStatus: number | undefined,
  message: string,
  httpStatus: number,
  received: number,
  rstCode: number | undefined,
  failure: Error | undefined,
): BranchResult {
  if (grpcStatus !== undefined) {
    if (grpcStatus !== GrpcStatus.OK) return classifyGrpc(grpcStatus, message);
    // a unary call's reply is one message (the status message of an OK is not kept, as before)
    return received < 5
      ? classifyGrpc(GrpcStatus.UNIMPLEMENTED, "No message received")
      : classifyGrpc(GrpcStatus.OK, "");
  }
  if (httpStatus !== 0 && httpStatus !== 200) {
    return classifyGrpc(httpStatusCode(httpStatus), `Received HTTP status code ${httpStatus}`);
  }
  if (rstCode !== undefined && rstCode !== NGHTTP2_NO_ERROR) {
    if (rstCode === NGHTTP2_REFUSED_STREAM)
      return classifyGrpc(GrpcStatus.UNAVAILABLE, "Stream refused by server");
    if (rstCode === NGHTTP2_CANCEL) return classifyGrpc(GrpcStatus.CANCELLED, "Call cancelled");
    if (rstCode === NGHTTP2_ENHANCE_YOUR_CALM) {
      return classifyGrpc(GrpcStatus.RESOURCE_EXHAUSTED, "Bandwidth exhausted or memory limit exceeded");
    }
    if (failure === undefined)
      return classifyGrpc(GrpcStatus.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
  if (failure !== undefined)
    return classifyGrpc(GrpcStatus.UNAVAILABLE, `Connection dropped: ${failure.message}`);
  return classifyGrpc(GrpcStatus.UNKNOWN, "No status received");
}

/** grpc-js's mapping of an HTTP status that came without a gRPC status. */
function httpStatusCode(status: number): number {
  if (status === 400) return GrpcStatus.INTERNAL;
  if (status === 401) return GrpcStatus.UNAUTHENTICATED;
  if (status === 403) return GrpcStatus.PERMISSION_DENIED;
  if (status === 404) return GrpcStatus.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return GrpcStatus.UNAVAILABLE;
  return GrpcStatus.UNKNOWN;
}

/** `grpc-timeout`: at most 8 digits and a unit. */
function grpcTimeout(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  return whole < 100_000_000 ? `${whole}m` : `${Math.ceil(whole / 1000)}S`;
}

/** `grpc-message` travels percent-encoded. */
function decodeMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
