import { openApiDocument } from "../api/openapi";
import type { Req, Res } from "../api/http-io";
import { nameRoute } from "../api/route-name";

/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 document of the REST API, generated at start from the
 * descriptors the REST gateway routes from. Resolves false for any other path.
 */
export function openApiRoute(version: string): (req: Req, res: Res) => boolean {
  const body = JSON.stringify(openApiDocument(version), null, 2) + "\n";
  return (req, res) => {
    if ((req.url ?? "").split("?", 1)[0] !== "/api/openapi.json" || req.method !== "GET") return false;
    nameRoute(req, "openapi");
    res.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "cache-control": "no-cache",
    });
    res.end(body);
    return true;
  };
}
