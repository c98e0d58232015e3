import type { KvRecord } from "../core/kv-repository";
import type { Topics } from "../core/topics";
import { intParam } from "./dtm-fields";
import type { DtmRoute } from "./dtm-route";

/** A key-value row as dtm's KVStore JSON (every key always present). */
export function dtmKvJson(r: KvRecord): Record<string, unknown> {
  return {
    id: Number(r.id),
    create_time: r.createTime.toISOString(),
    update_time: r.updateTime.toISOString(),
    cat: r.cat,
    k: r.key,
    v: r.value,
    version: r.version,
  };
}

/**
 * dtm's topic and key-value routes: `subscribe` and `unsubscribe` (GET with query parameters, as
 * dtm's admin UI sends them), `DELETE /topic/:topic`, and the reads `scanKV` and `queryKV`.
 */
export function dtmTopicRoutes(topics: Topics): Record<string, DtmRoute> {
  const param = (q: URLSearchParams, key: string): string => q.get(key) ?? "";
  return {
    subscribe: {
      path: "/api/dtmsvr/subscribe",
      method: "GET",
      handle: async ({ query: q }) => {
        await topics.subscribe(param(q, "topic"), param(q, "url"), param(q, "remark"));
      },
    },
    unsubscribe: {
      path: "/api/dtmsvr/unsubscribe",
      method: "GET",
      handle: async ({ query: q }) => {
        await topics.unsubscribe(param(q, "topic"), param(q, "url"));
      },
    },
    deleteTopic: {
      path: "/api/dtmsvr/topic/:topic",
      method: "DELETE",
      handle: async ({ query: q }) => {
        await topics.deleteTopic(param(q, "topic"));
      },
    },
    scanKV: {
      path: "/api/dtmsvr/scanKV",
      method: "GET",
      handle: async ({ query: q }) => {
        const page = await topics.scanKv(param(q, "cat"), {
          pageSize: q.get("limit") ? intParam(q, "limit", ["page_size"]) : undefined,
          cursor: param(q, "position"),
        });
        return { kv: page.rows.map(dtmKvJson), next_position: page.next };
      },
    },
    queryKV: {
      path: "/api/dtmsvr/queryKV",
      method: "GET",
      handle: async ({ query: q }) => ({
        kv: (await topics.queryKv(param(q, "cat"), param(q, "key"))).map(dtmKvJson),
      }),
    },
  };
}
