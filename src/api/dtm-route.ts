/** One call of a dtm route, from HTTP or from the JSON-RPC façade (json-rpc.ts). */
export interface DtmCall {
  /** Query parameters (and a path parameter, such as the topic of `DELETE /topic/:topic`). */
  query: URLSearchParams;
  /** The JSON body: parsed from HTTP on first use, or the JSON-RPC params. */
  body(): unknown;
}

/** One dtm route: its HTTP path and method, and the handler both faces share. */
export interface DtmRoute {
  /** The path; a last `:name` segment is a path parameter, handed over as the query parameter `name`. */
  path: string;
  method: "GET" | "POST" | "DELETE" | "*";
  /** Resolves with the answer's value; undefined is dtm's plain success. */
  handle(call: DtmCall): Promise<unknown>;
  /** HTTP only: how the route's error answers differ from dtm's envelope (the request's JSON given), if they do. */
  errorBody?: (status: number, body: Record<string, string>, request: unknown) => unknown;
}
