import type { Engine } from "../core/engine";
import { invalidField } from "../core/errors";
import { str } from "./dtm-fields";

/**
 * dtm's operator routes: forceStop, resetNextCronTime (bodies: dtm's transaction body, of which
 * only `gid` counts) and resetCronTime (`?timeout=<s>&limit=<n>`).
 */

/** `POST /api/dtmsvr/forceStop {"gid":…}`: an unfinished transaction → `failed`, nothing called. */
export async function forceStopRoute(engine: Engine, body: unknown): Promise<undefined> {
  await engine.forceStop(gidOf(body));
  return undefined;
}

/** `POST /api/dtmsvr/resetNextCronTime {"gid":…}`: an unfinished transaction is due now. */
export async function resetNextCronTimeRoute(engine: Engine, body: unknown): Promise<undefined> {
  await engine.retryNow(gidOf(body));
  return undefined;
}

/**
 * `GET /api/dtmsvr/resetCronTime?timeout=<s>&limit=<n>`: up to `limit` (default 100) unfinished
 * transactions next looked at more than `timeout` seconds from now (default three times the
 * server's timeoutToFail, as dtm) become due now. Answers `{"has_remaining","succeed_count"}`.
 */
export async function resetCronTimeRoute(
  engine: Engine,
  q: URLSearchParams,
  timeoutToFailMs: number,
): Promise<Record<string, unknown>> {
  const timeoutMs = q.get("timeout") ? seconds(q, "timeout") * 1000 : 3 * timeoutToFailMs;
  const limit = q.get("limit") ? seconds(q, "limit") : 100;
  const { count, hasRemaining } = await engine.retryDelayed(timeoutMs, limit);
  return { has_remaining: hasRemaining, succeed_count: count };
}

function gidOf(b: unknown): string {
  if (typeof b !== "object" || b === null || Array.isArray(b))
    throw invalidField(["body"], "must be a JSON object");
  const gid = str(b as Record<string, unknown>, "gid");
  if (gid === "") throw invalidField(["gid"], "is required");
  return gid;
}

function seconds(q: URLSearchParams, key: string): number {
  const v = q.get(key) ?? "";
  if (!/^\d{1,9}$/.test(v))
    throw invalidField([key], `must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Number(v);
}
