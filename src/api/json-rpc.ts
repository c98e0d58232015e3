import { checkJsonInput } from "../core/json-input";
import { dtmErrorResponse } from "./dtm-errors";
import { dtmRoutes, type DtmHttpDeps } from "./dtm-http";
import type { DtmRoute } from "./dtm-route";
import { dtmHttpSpelling, spelledError } from "./field-spelling";
import { nameRoute } from "./route-name";
import {
  readBody,
  refuseUpload,
  sendJson,
  tooLargeMessage,
  TOO_LARGE,
  utf8Text,
  type Req,
  type Res,
} from "./http-io";

/** The façade's path (dtm's). */
export const JSON_RPC_PATH = "/api/json-rpc";

/** dtm's JSON-RPC error codes (standard ones, plus -32901 for FAILURE). */
export const JsonRpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  internal: -32603,
  failure: -32901,
  ongoing: -32902,
} as const;

type Id = string | number | null;

interface JsonRpcError {
  code: number;
  message: string;
}

/**
 * dtm's JSON-RPC 2.0 façade, `POST /api/json-rpc`: `{"jsonrpc":"2.0","id":…,"method":<dtm method>,
 * "params":<the HTTP body, or the query parameters of a GET route>}` calls the same handler as the
 * HTTP route (dtm-http.ts `dtmRoutes`: newGid, prepare, submit, abort, query, all, subscribe, …). The
 * answer is `{"jsonrpc":"2.0","id":…,"result":<value or null>,"error":null}` or an error with dtm's
 * codes: -32700 the body is not JSON (HTTP 400, as dtm), -32600 not a JSON-RPC 2.0 request, -32601
 * unknown method, -32901 FAILURE, -32603 anything else. Resolves false for other paths.
 */
export function createJsonRpcRoute(deps: DtmHttpDeps): (req: Req, res: Res) => Promise<boolean> {
  const routes = dtmRoutes(deps);
  return async (req, res) => {
    if ((req.url ?? "").split("?")[0] !== JSON_RPC_PATH) return false;
    nameRoute(req, "json-rpc");
    if (req.method !== "POST") {
      sendJson(res, 405, { message: `${JSON_RPC_PATH} accepts POST only` });
      return true;
    }
    const raw = await readBody(req, deps.maxBodyBytes);
    if (raw === TOO_LARGE) {
      const error = { code: JsonRpcCode.invalidRequest, message: tooLargeMessage(deps.maxBodyBytes) };
      refuseUpload(req, res, 413, answer(null, error, null));
      return true;
    }
    let request: unknown;
    try {
      const text = utf8Text(raw);
      if (text === null) throw new Error("the body is not valid UTF-8");
      request = JSON.parse(text);
      checkJsonInput(request);
    } catch (err) {
      const error = { code: JsonRpcCode.parseError, message: `Parse json error: ${(err as Error).message}` };
      sendJson(res, 400, answer(null, error, null));
      return true;
    }
    const { status, body } = await dispatch(routes, request);
    sendJson(res, status, body);
    return true;
  };
}

/** One JSON-RPC request against dtm's routes: the HTTP status and the JSON-RPC answer. */
async function dispatch(
  routes: Record<string, DtmRoute>,
  request: unknown,
): Promise<{ status: number; body: unknown }> {
  const r = (
    typeof request === "object" && request !== null && !Array.isArray(request) ? request : {}
  ) as Record<string, unknown>;
  const id = typeof r.id === "string" || typeof r.id === "number" ? r.id : null;
  if (r.jsonrpc !== "2.0" || id === null || id === "") {
    const message =
      'Bad json request: a JSON-RPC 2.0 request object with "jsonrpc":"2.0" and an id is expected';
    return { status: 200, body: answer(id, { code: JsonRpcCode.invalidRequest, message }, null) };
  }
  const method = typeof r.method === "string" ? r.method : "";
  const route = Object.hasOwn(routes, method) ? routes[method] : undefined;
  if (!route) {
    const error = { code: JsonRpcCode.methodNotFound, message: `Method not found: ${method}` };
    return { status: 200, body: answer(id, error, null) };
  }
  try {
    const value = await route.handle({ query: queryOf(route, r.params), body: () => r.params });
    return { status: 200, body: answer(id, null, resultOf(value)) };
  } catch (err) {
    return { status: 200, body: answer(id, errorOf(err), null) };
  }
}

function answer(id: Id, error: JsonRpcError | null, result: unknown): Record<string, unknown> {
  return { jsonrpc: "2.0", id, error, result };
}

/** A route's value as the JSON-RPC result: null for plain success, without the HTTP envelope's `dtm_result`. */
function resultOf(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const { dtm_result: _envelope, ...rest } = value as Record<string, unknown>;
  return rest;
}

/**
 * dtm's codes: what the HTTP route answers 409 FAILURE is -32901, everything else (bad input
 * included, as dtm) -32603; the message is the HTTP answer's.
 */
function errorOf(err: unknown): JsonRpcError {
  const { status, body } = dtmErrorResponse(spelledError(err, dtmHttpSpelling));
  return { code: status === 409 ? JsonRpcCode.failure : JsonRpcCode.internal, message: body.message ?? "" };
}

/** The params of a route that reads its query: an object's scalar members as query parameters. */
function queryOf(route: DtmRoute, params: unknown): URLSearchParams {
  const q = new URLSearchParams();
  if (route.method === "POST" || typeof params !== "object" || params === null) return q;
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") q.append(key, String(v));
    }
  }
  return q;
}
