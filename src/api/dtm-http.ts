import type { Logger } from "pino";
import type { Engine } from "../core/engine";
import { newGid } from "../core/gid";
import type { TransStatus, TransType } from "../core/model";
import type { Topics } from "../core/topics";
import { parseDtmBody } from "./dtm-body";
import { dtmErrorResponse } from "./dtm-errors";
import { logUnforeseen } from "./internal-errors";
import { forceStopRoute, resetCronTimeRoute, resetNextCronTimeRoute } from "./dtm-http-ops";
import { dtmBranchJson, dtmTransJson } from "./dtm-json";
import { dtmProgressesError, dtmProgressesJson } from "./dtm-progress";
import { intParam } from "./dtm-fields";
import type { DtmCall, DtmRoute } from "./dtm-route";
import { dtmTopicRoutes } from "./dtm-topic-routes";
import { nameRoute } from "./route-name";
import { dtmHttpSpelling, spelledError } from "./field-spelling";
import {
  parseJson,
  readBody,
  refuseUpload,
  sendJson,
  tooLargeMessage,
  TOO_LARGE,
  type Req,
  type Res,
} from "./http-io";
import { parseDtmAbort, parseDtmRegistration } from "./dtm-register";
import { checkAbortResult, checkWaitResult } from "./wait-result";

/** What dtm's HTTP routes need. */
export interface DtmHttpDeps {
  engine: Engine;
  topics: Topics;
  version: string;
  maxBodyBytes: number;
  maxGidLength: number;
  /** The server's timeoutToFail (ms): resetCronTime's default reach is three times it. */
  timeoutToFailMs: number;
  /** Where unforeseen errors (bugs) are logged; the client gets a fixed text. */
  logger?: Logger;
}

const SUCCESS = { dtm_result: "SUCCESS" };

/**
 * dtm's routes by dtm's method name (the JSON-RPC method of each): the one copy of their logic,
 * served over HTTP (`createDtmHttpRoutes`) and JSON-RPC (`createJsonRpcRoute`).
 */
export function dtmRoutes(deps: DtmHttpDeps): Record<string, DtmRoute> {
  const routes = routeTable(deps);
  for (const [name, route] of Object.entries(routes)) {
    routes[name] = { ...route, handle: logUnforeseen(deps.logger, route.path, route.handle) };
  }
  return routes;
}

function routeTable(deps: DtmHttpDeps): Record<string, DtmRoute> {
  const { engine, maxGidLength } = deps;
  const register = async (call: DtmCall): Promise<void> => {
    await engine.registerBranch(parseDtmRegistration(call.body()));
  };
  return {
    version: { path: "/api/dtmsvr/version", method: "GET", handle: async () => ({ version: deps.version }) },
    newGid: {
      path: "/api/dtmsvr/newGid",
      method: "GET",
      handle: async () => ({ gid: newGid(), dtm_result: "SUCCESS" }),
    },
    prepare: {
      path: "/api/dtmsvr/prepare",
      method: "POST",
      handle: async (call) => {
        await engine.prepare(parseDtmBody(call.body(), maxGidLength));
      },
    },
    submit: {
      path: "/api/dtmsvr/submit",
      method: "POST",
      handle: async (call) => {
        const t = parseDtmBody(call.body(), maxGidLength);
        const { trans } = await engine.submit(t);
        if (t.options.waitResult) checkWaitResult(trans);
      },
    },
    abort: {
      path: "/api/dtmsvr/abort",
      method: "POST",
      handle: async (call) => {
        const r = parseDtmAbort(call.body());
        checkAbortResult((await engine.abort(r)).trans, r.waitResult);
      },
    },
    registerBranch: { path: "/api/dtmsvr/registerBranch", method: "POST", handle: register },
    // the names older SDKs call (dtm keeps them as aliases)
    registerTccBranch: { path: "/api/dtmsvr/registerTccBranch", method: "POST", handle: register },
    registerXaBranch: { path: "/api/dtmsvr/registerXaBranch", method: "POST", handle: register },
    prepareWorkflow: {
      path: "/api/dtmsvr/prepareWorkflow",
      method: "POST",
      handle: async (call) =>
        dtmProgressesJson(await engine.prepareOrLoad(parseDtmBody(call.body(), maxGidLength))),
      errorBody: dtmProgressesError,
    },
    forceStop: {
      path: "/api/dtmsvr/forceStop",
      method: "POST",
      handle: (call) => forceStopRoute(engine, call.body()),
    },
    resetNextCronTime: {
      path: "/api/dtmsvr/resetNextCronTime",
      method: "POST",
      handle: (call) => resetNextCronTimeRoute(engine, call.body()),
    },
    resetCronTime: {
      path: "/api/dtmsvr/resetCronTime",
      method: "GET",
      handle: (call) => resetCronTimeRoute(engine, call.query, deps.timeoutToFailMs),
    },
    query: { path: "/api/dtmsvr/query", method: "GET", handle: (call) => query(deps, call.query) },
    all: { path: "/api/dtmsvr/all", method: "GET", handle: (call) => all(deps, call.query) },
    ...dtmTopicRoutes(deps.topics),
    ping: { path: "/api/ping", method: "*", handle: async () => ({ msg: "pong" }) },
    // the health check dtm's tutorials and compose files use
    health: { path: "/api/health", method: "GET", handle: async () => ({ result: "success" }) },
  };
}

/**
 * dtm's HTTP API under `/api/dtmsvr` plus `/api/ping` and `/api/health`, with dtm's envelopes: a value is answered
 * 200 as JSON, success without a value as `{"dtm_result":"SUCCESS"}`, errors per dtm-errors.ts.
 * Resolves false for paths it does not serve.
 */
export function createDtmHttpRoutes(deps: DtmHttpDeps): (req: Req, res: Res) => Promise<boolean> {
  const exact = new Map<string, DtmRoute>();
  const withParam: Array<{ prefix: string; param: string; route: DtmRoute }> = [];
  const names = new Map<DtmRoute, string>();
  for (const [name, route] of Object.entries(dtmRoutes(deps))) {
    names.set(route, name);
    const colon = route.path.lastIndexOf("/:");
    if (colon < 0) exact.set(route.path, route);
    else
      withParam.push({ prefix: route.path.slice(0, colon + 1), param: route.path.slice(colon + 2), route });
  }
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dtx");
    const query = url.searchParams;
    let route = exact.get(url.pathname);
    if (!route) {
      const match = withParam.find(
        (r) => url.pathname.startsWith(r.prefix) && url.pathname.length > r.prefix.length,
      );
      if (!match) return false;
      route = match.route;
      try {
        query.set(match.param, decodeURIComponent(url.pathname.slice(match.prefix.length)));
      } catch {
        query.set(match.param, url.pathname.slice(match.prefix.length)); // not percent-encoding: as written
      }
    }
    nameRoute(req, names.get(route)!);
    if (route.method !== "*" && req.method !== route.method) {
      sendJson(res, 405, { message: `${url.pathname} accepts ${route.method} only` });
      return true;
    }
    const raw = route.method === "POST" ? await readBody(req, deps.maxBodyBytes) : Buffer.alloc(0);
    if (raw === TOO_LARGE) {
      refuseUpload(req, res, 413, {
        dtm_result: "FAILURE",
        message: `${tooLargeMessage(deps.maxBodyBytes)}. FAILURE`,
      });
      return true;
    }
    try {
      sendJson(res, 200, (await route.handle({ query, body: () => parseJson(raw) })) ?? SUCCESS);
    } catch (err) {
      const answer = dtmErrorResponse(spelledError(err, dtmHttpSpelling));
      const request = route.errorBody ? safeJson(raw) : undefined;
      const body = route.errorBody?.(answer.status, answer.body, request) ?? answer.body;
      sendJson(res, answer.status, body, answer.headers);
    }
    return true;
  };
}

async function query(deps: DtmHttpDeps, q: URLSearchParams): Promise<unknown> {
  const found = await deps.engine.get(q.get("gid") ?? "");
  return {
    transaction: found ? dtmTransJson(found.trans) : null,
    branches: (found?.branches ?? []).map(dtmBranchJson),
  };
}

async function all(deps: DtmHttpDeps, q: URLSearchParams): Promise<unknown> {
  const gid = q.get("gid") ?? "";
  if (gid !== "") {
    // with its branches: the row shows its last failure, as listed rows do
    const found = await deps.engine.get(gid);
    return { transactions: found ? [dtmTransJson(found.trans)] : [], next_position: "" };
  }
  const start = q.get("createTimeStart");
  const end = q.get("createTimeEnd");
  const page = await deps.engine.list({
    pageSize: q.get("limit") ? intParam(q, "limit", ["page_size"]) : undefined,
    cursor: q.get("position") ?? undefined,
    // dtm filters on the words as given: an unknown one matches nothing
    statuses: q.get("status") ? [q.get("status") as TransStatus] : undefined,
    transType: (q.get("transType") || undefined) as TransType | undefined,
    createdFrom: start ? new Date(intParam(q, "createTimeStart")) : undefined,
    createdTo: end ? new Date(intParam(q, "createTimeEnd")) : undefined,
  });
  return {
    transactions: page.transactions.map(dtmTransJson),
    next_position: page.next,
  };
}

/** A body's JSON for an error answer; undefined when it is none. */
function safeJson(body: Buffer): unknown {
  try {
    return parseJson(body);
  } catch {
    return undefined;
  }
}
