import type { Req, Res } from "../api/http-io";
import { sendJson } from "../api/http-io";
import { nameRoute } from "../api/route-name";

/** One scrape's answer. */
export type Scrape = () => Promise<{ contentType: string; body: string }>;

/**
 * `GET /api/metrics` (dtm's path, on every port): the metrics in Prometheus's text format; with
 * `metrics.enabled: false`, 404 naming the key. Resolves false for any other path.
 */
export function metricsRoute(scrape: Scrape | null): (req: Req, res: Res) => Promise<boolean> {
  return async (req, res) => {
    if ((req.url ?? "").split("?", 1)[0] !== "/api/metrics" || req.method !== "GET") return false;
    nameRoute(req, "metrics");
    if (!scrape) {
      sendJson(res, 404, { message: "metrics are off (metrics.enabled: false)" });
      return true;
    }
    let answer;
    try {
      answer = await scrape();
    } catch (err) {
      // with worker processes: one did not answer in time (a partial sum would read as a counter reset)
      sendJson(res, 503, { message: `metrics: ${(err as Error).message}` });
      return true;
    }
    const { contentType, body } = answer;
    res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    res.end(body);
    return true;
  };
}
