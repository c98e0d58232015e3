import type { Req, Res } from "../api/http-io";

/**
 * `GET /api/metrics` (dtm's path): for now only `dtx_info`, in Prometheus's text format, so that
 * scrapers and dtm's health checks find the route; the metric set comes with the observability work.
 * Resolves false for any other path.
 */
export function metricsRoute(version: string): (req: Req, res: Res) => boolean {
  const body =
    "# HELP dtx_info The dtx coordinator: its version.\n" +
    "# TYPE dtx_info gauge\n" +
    `dtx_info{version=${JSON.stringify(version)}} 1\n`;
  return (req, res) => {
    if ((req.url ?? "").split("?", 1)[0] !== "/api/metrics" || req.method !== "GET") return false;
    res.writeHead(200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
    return true;
  };
}
