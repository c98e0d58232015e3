import type { IncomingMessage, ServerResponse } from "node:http";
import type { Pool } from "pg";
import { Barrier, type BarrierOptions } from "./barrier";
import { branchContextFromQuery, type BranchContext } from "./branch-context";
import { isBranchFailure, isBranchOngoing } from "./errors";

/**
 * One branch call as a `node:http` business function sees it.
 *
 * @example
 * const transOut: HttpBranchFunction = async (call) => {
 *   const { user, amount } = call.json<{ user: string; amount: number }>();
 *   await call.barrier().call(pool, (tx) => debit(tx, user, amount));
 * };
 */
export interface HttpBranchCall {
  /** gid, trans_type, branch_id, op and dtm from the query parameters. */
  ctx: BranchContext;
  /** The request body (the step's payload). */
  body: Buffer;
  /** The body parsed as JSON; a body that is not JSON is answered 400. */
  json<T = unknown>(): T;
  req: IncomingMessage;
  /** The barrier of this call (the same one on every use). */
  barrier(options?: BarrierOptions): Barrier;
}

/**
 * A branch's business function: resolve for success (with a value to answer as JSON, or nothing
 * for `{"dtm_result":"SUCCESS"}`), throw {@link BranchFailure} to fail for good, {@link BranchOngoing}
 * to be called again later; any other error is answered 500 (the coordinator retries).
 *
 * @example
 * const ping: HttpBranchFunction = () => undefined; // 200 {"dtm_result":"SUCCESS"}
 */
export type HttpBranchFunction = (call: HttpBranchCall) => unknown;

/** Options of the `node:http` helpers. @example httpBranchRoutes(routes, { maxBodyBytes: 64 * 1024 }) */
export interface HttpBranchOptions {
  /** The largest body read, in bytes; larger ones are answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

const SUCCESS = { dtm_result: "SUCCESS" };

class BadRequest extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A `node:http` request listener running `fn` for every request, answering as dtm's branch protocol
 * says: 200 success, 409 `{"dtm_result":"FAILURE"}`, 425 `{"dtm_result":"ONGOING"}`, 500 otherwise.
 *
 * @example
 * http.createServer(httpBranch(async (call) => { await reserve(call.json()); })).listen(8081);
 */
export function httpBranch(
  fn: HttpBranchFunction,
  options: HttpBranchOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const limit = options.maxBodyBytes ?? 1 << 20;
  return async (req, res) => {
    try {
      const body = await readBody(req, limit);
      const ctx = branchContextFromQuery(new URL(req.url ?? "/", "http://branch").searchParams);
      let barrier: Barrier | undefined;
      const call: HttpBranchCall = {
        ctx,
        body,
        req,
        json: <T>() => parseJson(body) as T,
        barrier: (o) => (barrier ??= new Barrier(ctx, o)),
      };
      const result = await fn(call);
      const text = JSON.stringify(result === undefined ? SUCCESS : result);
      if (/FAILURE|ONGOING/.test(text)) {
        // dtm's protocol reads these words in a 200 body as the branch's verdict
        throw new Error(
          `the branch's answer ${text.slice(0, 200)} contains FAILURE or ONGOING, which dtm reads as a verdict`,
        );
      }
      send(res, 200, text);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (isBranchFailure(err)) send(res, 409, JSON.stringify({ dtm_result: "FAILURE", message }));
      else if (isBranchOngoing(err)) send(res, 425, JSON.stringify({ dtm_result: "ONGOING", message }));
      else if (err instanceof BadRequest) send(res, err.status, JSON.stringify({ message }));
      else send(res, 500, JSON.stringify({ message }));
    }
  };
}

/**
 * A `node:http` request listener routing by path to branch functions (any method: the coordinator
 * uses GET when a payload is empty); other paths are answered 404.
 *
 * @example
 * http.createServer(httpBranchRoutes({
 *   "/api/bank/TransOut": transOut,
 *   "/api/bank/TransOutRevert": transOutRevert,
 * })).listen(8081);
 */
export function httpBranchRoutes(
  routes: Record<string, HttpBranchFunction>,
  options: HttpBranchOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const handlers = new Map(Object.entries(routes).map(([path, fn]) => [path, httpBranch(fn, options)]));
  return async (req, res) => {
    const path = new URL(req.url ?? "/", "http://branch").pathname;
    const handler = handlers.get(path);
    if (handler) return handler(req, res);
    req.resume();
    send(res, 404, JSON.stringify({ message: `no branch at ${path}` }));
  };
}

/**
 * The branch function of a message's check-back URL (`queryPrepared`): answers from the barrier
 * table whether the message's local transaction committed (200) or never will (409 FAILURE).
 *
 * @example
 * httpBranchRoutes({ "/api/bank/QueryPrepared": httpQueryPrepared(pool) });
 */
export function httpQueryPrepared(db: Pool, options: BarrierOptions = {}): HttpBranchFunction {
  return (call) => call.barrier(options).queryPrepared(db);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BadRequest(413, `the body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString());
  } catch (err) {
    throw new BadRequest(400, `the body is not JSON: ${(err as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(text);
}
