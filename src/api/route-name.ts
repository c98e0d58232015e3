import type { DescService } from "@bufbuild/protobuf";

/**
 * The name of the route that served a request, for metrics and spans: dtm's method name (`submit`,
 * `newgid`), the native RPC's method (`listtransactions`), `json-rpc`, `metrics`, `openapi`,
 * `admin-page` (the admin web page and its files, `/` and `/admin` included). Routers name the
 * request when they match it; a request no router took has none. Never the URI: a gid or a query
 * string in a label would make its values unbounded.
 */
const names = new WeakMap<object, string>();

/** Records the name of the route serving `req` (lower-cased, as dtm's `api` label is). */
export function nameRoute(req: object, name: string): void {
  names.set(req, name.toLowerCase());
}

/** The route that served `req`, or undefined when no router took it. */
export function routeName(req: object): string | undefined {
  return names.get(req);
}

/** The paths of every method of `services`, as gRPC and Connect clients call them (`/pkg.Service/Method`). */
export function rpcPathsOf(services: DescService[]): Set<string> {
  return new Set(services.flatMap((s) => s.methods.map((m) => `/${s.typeName}/${m.name}`)));
}
