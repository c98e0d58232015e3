import type { Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { newGid } from "../core/gid";
import type { TransStatus, TransType } from "../core/model";
import { parseDtmBody } from "./dtm-body";
import { dtmErrorResponse } from "./dtm-errors";
import { dtmBranchJson, dtmTransJson } from "./dtm-json";
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
  version: string;
  maxBodyBytes: number;
  maxGidLength: number;
}

type Handler = (req: Req, url: URL, body: Buffer) => Promise<unknown>;

const SUCCESS = { dtm_result: "SUCCESS" };

/**
 * dtm's HTTP API under `/api/dtmsvr` plus `/api/ping`, with dtm's envelopes: a value is answered
 * 200 as JSON, success without a value as `{"dtm_result":"SUCCESS"}`, errors per dtm-errors.ts.
 * Resolves false for paths it does not serve.
 */
export function createDtmHttpRoutes(deps: DtmHttpDeps): (req: Req, res: Res) => Promise<boolean> {
  const routes: Record<string, { method: string; handle: Handler }> = {
    "/api/dtmsvr/version": { method: "GET", handle: async () => ({ version: deps.version }) },
    "/api/dtmsvr/newGid": { method: "GET", handle: async () => ({ gid: newGid(), dtm_result: "SUCCESS" }) },
    "/api/dtmsvr/prepare": { method: "POST", handle: (_req, _url, body) => prepare(deps, body) },
    "/api/dtmsvr/submit": { method: "POST", handle: (_req, _url, body) => submit(deps, body) },
    "/api/dtmsvr/abort": { method: "POST", handle: (_req, _url, body) => abort(deps, body) },
    "/api/dtmsvr/registerBranch": { method: "POST", handle: (_req, _url, body) => register(deps, body) },
    // the names older SDKs call (dtm keeps them as aliases)
    "/api/dtmsvr/registerTccBranch": { method: "POST", handle: (_req, _url, body) => register(deps, body) },
    "/api/dtmsvr/registerXaBranch": { method: "POST", handle: (_req, _url, body) => register(deps, body) },
    "/api/dtmsvr/query": { method: "GET", handle: (_req, url) => query(deps, url) },
    "/api/dtmsvr/all": { method: "GET", handle: (_req, url) => all(deps, url) },
    "/api/ping": { method: "*", handle: async () => ({ msg: "pong" }) },
  };
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dtx");
    const route = routes[url.pathname];
    if (!route) return false;
    if (route.method !== "*" && req.method !== route.method) {
      sendJson(res, 405, { message: `${url.pathname} accepts ${route.method} only` });
      return true;
    }
    const body = req.method === "GET" ? Buffer.alloc(0) : await readBody(req, deps.maxBodyBytes);
    if (body === TOO_LARGE) {
      refuseUpload(req, res, 400, {
        dtm_result: "FAILURE",
        message: `${tooLargeMessage(deps.maxBodyBytes)}. FAILURE`,
      });
      return true;
    }
    try {
      sendJson(res, 200, (await route.handle(req, url, body)) ?? SUCCESS);
    } catch (err) {
      const { status, body } = dtmErrorResponse(spelledError(err, dtmHttpSpelling));
      sendJson(res, status, body);
    }
    return true;
  };
}

async function prepare(deps: DtmHttpDeps, body: Buffer): Promise<unknown> {
  await deps.engine.prepare(parseDtmBody(parseJson(body), deps.maxGidLength));
  return undefined;
}

async function abort(deps: DtmHttpDeps, body: Buffer): Promise<unknown> {
  const r = parseDtmAbort(parseJson(body));
  checkAbortResult((await deps.engine.abort(r)).trans, r.waitResult);
  return undefined;
}

async function register(deps: DtmHttpDeps, body: Buffer): Promise<unknown> {
  await deps.engine.registerBranch(parseDtmRegistration(parseJson(body)));
  return undefined;
}

async function submit(deps: DtmHttpDeps, body: Buffer): Promise<unknown> {
  const t = parseDtmBody(parseJson(body), deps.maxGidLength);
  const { trans } = await deps.engine.submit(t);
  if (t.options.waitResult) checkWaitResult(trans);
  return undefined;
}

async function query(deps: DtmHttpDeps, url: URL): Promise<unknown> {
  const found = await deps.engine.get(url.searchParams.get("gid") ?? "");
  return {
    transaction: found ? dtmTransJson(found.trans) : null,
    branches: (found?.branches ?? []).map(dtmBranchJson),
  };
}

async function all(deps: DtmHttpDeps, url: URL): Promise<unknown> {
  const q = url.searchParams;
  const gid = q.get("gid") ?? "";
  if (gid !== "") {
    const found = await deps.engine.get(gid, { branches: false });
    return { transactions: found ? [dtmTransJson(found.trans)] : [], next_position: "" };
  }
  const start = q.get("createTimeStart");
  const end = q.get("createTimeEnd");
  const page = await deps.engine.list({
    pageSize: q.get("limit") ? intParam(q, "limit", ["page_size"]) : undefined,
    cursor: q.get("position") ?? undefined,
    // dtm filters on the words as given: an unknown one matches nothing
    status: (q.get("status") || undefined) as TransStatus | undefined,
    transType: (q.get("transType") || undefined) as TransType | undefined,
    createdFrom: start ? new Date(intParam(q, "createTimeStart")) : undefined,
    createdTo: end ? new Date(intParam(q, "createTimeEnd")) : undefined,
  });
  return {
    transactions: page.transactions.map(dtmTransJson),
    next_position: page.next,
  };
}

function intParam(q: URLSearchParams, key: string, path = [key]): number {
  const v = q.get(key) ?? "";
  if (!/^\d+$/.test(v)) throw invalidField(path, `must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Number(v);
}
