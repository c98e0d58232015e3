import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Req, Res } from "../api/http-io";
import { nameRoute } from "../api/route-name";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** Same-origin only: the page loads nothing from elsewhere, runs no inline script and is never framed. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * The admin page: `/` and `/admin` lead to `/admin/`, which serves `index.html` (revalidated each
 * time); `/admin/<file>` serves the bundle the build wrote to `dir` — its hashed names are cached for
 * good. Nothing comes from a CDN. Resolves false for other paths. The page itself holds no data: what
 * it shows comes from the admin service, which requires the token.
 */
export function adminPageRoute(dir: string): (req: Req, res: Res) => boolean {
  const files = new Map<string, Buffer>();
  const read = (name: string): Buffer | undefined => {
    if (!files.has(name)) {
      const path = join(dir, name);
      if (!existsSync(path)) return undefined;
      files.set(name, readFileSync(path));
    }
    return files.get(name);
  };
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (path === "/" || path === "/admin") {
      nameRoute(req, "admin-page");
      res.writeHead(302, { location: "/admin/", "content-length": 0 });
      res.end();
      return true;
    }
    const m = /^\/admin\/([\w.-]*)$/.exec(path);
    if (!m) return false;
    // one name for the page and all its files: a file name in a label would be unbounded
    nameRoute(req, "admin-page");
    const name = m[1] === "" ? "index.html" : m[1]!;
    const body = read(name);
    if (body === undefined) {
      const missing = read("index.html") === undefined;
      const text = missing ? "the admin page is not built: run npm run build\n" : `no file ${name}\n`;
      res.writeHead(missing ? 503 : 404, { "content-type": "text/plain; charset=utf-8" });
      res.end(text);
      return true;
    }
    const hashed = /-[A-Z0-9]{8}\.\w+$/.test(name);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": TYPES[name.slice(name.lastIndexOf("."))] ?? "application/octet-stream",
      "content-length": body.length,
      "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
    });
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  };
}
