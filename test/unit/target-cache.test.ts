/** Branch URLs parsed once give the same request target as setting the query through URL.searchParams. */
import { TargetCache } from "../../src/branch/target-cache";

function viaUrl(url: string, params: Array<[string, string]>): { origin: string; path: string } {
  const u = new URL(url);
  for (const [k, v] of params) u.searchParams.set(k, v);
  return { origin: u.origin, path: u.pathname + u.search };
}

const params = (gid: string): Array<[string, string]> => [
  ["gid", gid],
  ["trans_type", "saga"],
  ["branch_id", "01"],
  ["op", "action"],
];

test.each([
  ["http://127.0.0.1:8081/api/busi/TransOut", "plain-gid_1.x"],
  ["http://127.0.0.1:8081/api/busi/TransOut", "needs encoding: ü&=+/?#"],
  ["http://127.0.0.1:8081/api/busi/TransOut?", "g1"],
  ["http://127.0.0.1:8081/api/busi/TransOut?gid=old&a=b%20c", "g2"],
  ["http://user:pw@example.com/a%20b/c#fragment", "g3"],
  ["HTTP://EXAMPLE.com:80/x", "g4"],
])("%s with gid %j", (url, gid) => {
  const cache = new TargetCache();
  // twice: the first parses, the second comes from the cache
  expect(cache.withQuery(url, params(gid))).toEqual(viaUrl(url, params(gid)));
  expect(cache.withQuery(url, params(gid))).toEqual(viaUrl(url, params(gid)));
});

test("not a URL: null, also the second time", () => {
  const cache = new TargetCache();
  expect(cache.withQuery("not a url", params("g"))).toBeNull();
  expect(cache.withQuery("not a url", params("g"))).toBeNull();
});
