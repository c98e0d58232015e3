import type { Engine } from "../core/engine";
import { invalidArgument } from "../core/errors";
import { newGid } from "../core/gid";
import type { Store } from "../store/store";
import { findBranches, findTrans, listTrans } from "../store/trans-statements";
import { parseDtmBody } from "./dtm-body";
import { dtmErrorResponse } from "./dtm-errors";
import { dtmBranchJson, dtmTransJson } from "./dtm-json";
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
import { checkWaitResult } from "./wait-result";

/** What dtm's HTTP routes need. */
export interface DtmHttpDeps {
  engine: Engine;
  store: Store;
  version: string;
  maxBodyBytes: number;
  maxGidLength: number;
  maxPageSize: number;
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
    "/api/dtmsvr/submit": { method: "POST", handle: (_req, _url, body) => submit(deps, body) },
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
      const { status, body } = dtmErrorResponse(err);
      sendJson(res, status, body);
    }
    return true;
  };
}

async function submit(deps: DtmHttpDeps, body: Buffer): Promise<unknown> {
  const t = parseDtmBody(parseJson(body), deps.maxGidLength);
  const { trans } = await deps.engine.submit(t);
  if (t.options.waitResult) checkWaitResult(trans);
  return undefined;
}

async function query(deps: DtmHttpDeps, url: URL): Promise<unknown> {
  const gid = url.searchParams.get("gid") ?? "";
  if (gid === "") throw invalidArgument("gid", "no gid specified");
  const trans = await findTrans(deps.store.db, gid);
  const branches = trans ? await findBranches(deps.store.db, [gid]) : [];
  return { transaction: trans ? dtmTransJson(trans) : null, branches: branches.map(dtmBranchJson) };
}

async function all(deps: DtmHttpDeps, url: URL): Promise<unknown> {
  const q = url.searchParams;
  const gid = q.get("gid") ?? "";
  if (gid !== "") {
    const trans = await findTrans(deps.store.db, gid);
    return { transactions: trans ? [dtmTransJson(trans)] : [], next_position: "" };
  }
  const limit = intParam(q, "limit", 100);
  if (limit < 1 || limit > deps.maxPageSize)
    throw invalidArgument("limit", `must be between 1 and ${deps.maxPageSize}`);
  const position = q.get("position") ?? "";
  if (position !== "" && !/^\d+$/.test(position))
    throw invalidArgument("position", "is not a cursor of this listing");
  const start = q.get("createTimeStart");
  const end = q.get("createTimeEnd");
  const page = await listTrans(deps.store.db, {
    beforeId: position || undefined,
    limit,
    status: q.get("status") || undefined,
    transType: q.get("transType") || undefined,
    createdFrom: start ? new Date(intParam(q, "createTimeStart", 0)) : undefined,
    createdTo: end ? new Date(intParam(q, "createTimeEnd", 0)) : undefined,
  });
  return {
    transactions: page.transactions.map(dtmTransJson),
    next_position: page.next,
  };
}

function intParam(q: URLSearchParams, key: string, fallback: number): number {
  const v = q.get(key);
  if (v === null || v === "") return fallback;
  if (!/^\d+$/.test(v))
    throw invalidArgument(key, `must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Number(v);
}
