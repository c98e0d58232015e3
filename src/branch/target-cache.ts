/** Where one HTTP call goes: the origin to pool the connection by, and the request target. */
export interface Target {
  origin: string;
  /** Path and query string. */
  path: string;
}

/** Values that `URLSearchParams` writes as they are: appended without encoding. */
const PLAIN = /^[A-Za-z0-9_.*-]*$/;

/** Parsed branch URLs kept at most; a full cache starts over (branch URLs are few: one per route). */
const MAX_ENTRIES = 1024;

/**
 * Branch URLs parsed once: a saga calls the same few URLs over and over, and parsing a URL and
 * re-serializing its query for every call showed in the coordinator's profile. `withQuery` gives the
 * same target as setting each parameter through `URL.searchParams` would.
 */
export class TargetCache {
  private readonly parsed = new Map<string, { origin: string; pathname: string; search: string } | null>();

  /** The target of `url` with `params` set in its query; null when `url` is not a URL. */
  withQuery(url: string, params: Array<[string, string]>): Target | null {
    const base = this.parse(url);
    if (!base) return null;
    // an existing query, or a value that needs encoding: let URLSearchParams write it
    if (base.search !== "" || !params.every(([, v]) => PLAIN.test(v))) {
      const u = new URL(url);
      for (const [k, v] of params) u.searchParams.set(k, v);
      return { origin: u.origin, path: u.pathname + u.search };
    }
    return { origin: base.origin, path: `${base.pathname}?${params.map(([k, v]) => `${k}=${v}`).join("&")}` };
  }

  private parse(url: string): { origin: string; pathname: string; search: string } | null {
    let base = this.parsed.get(url);
    if (base === undefined) {
      let u: URL | null = null;
      try {
        u = new URL(url);
      } catch {
        // not a URL: remembered as such
      }
      base = u && { origin: u.origin, pathname: u.pathname, search: u.search };
      if (this.parsed.size >= MAX_ENTRIES) this.parsed.clear();
      this.parsed.set(url, base);
    }
    return base;
  }
}
