import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { fromJson, ScalarType, toJson } from "@bufbuild/protobuf";
import type {
  DescField,
  DescMessage,
  DescMethod,
  DescService,
  JsonObject,
  JsonValue,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import { checkJsonInput } from "../core/json-input";
import { RETRY_AFTER_SECONDS } from "./dtm-errors";
import { nameRoute } from "./route-name";
import { httpBindings, templateSegments, type HttpBinding } from "./http-bindings";
import { failingJsonPath } from "./json-field-path";
import { readBody, refuseUpload, tooLargeMessage, TOO_LARGE, utf8Text, type Res as NodeRes } from "./http-io";

type Req = IncomingMessage | Http2ServerRequest;

/**
 * The part of a response the gateway uses. `http.ServerResponse`, `http2.Http2ServerResponse` and the
 * response type connect-node hands to its `fallback` all fit, so the gateway plugs in there as is.
 */
export interface RestGatewayResponse {
  readonly headersSent: boolean;
  readonly destroyed: boolean;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  end(): unknown;
  end(chunk: string): unknown;
  once(event: "close", listener: () => void): unknown;
}
type Res = RestGatewayResponse;
type Unary = (input: unknown, options: object) => Promise<unknown>;

/** Options of {@link createRestGateway}. */
export interface RestGatewayOptions {
  /** Largest accepted request body; larger ones get 400. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Run around every call, as the server's gRPC/Connect handler runs them (give it the same list). */
  interceptors?: Interceptor[];
}

/** One compiled `google.api.http` binding. */
interface Route {
  method: DescMethod;
  httpMethod: string;
  regex: RegExp;
  /** Path variables, in capture-group order; `multi` ones span several segments. */
  vars: { fields: DescField[]; multi: boolean }[];
  /** "" (no body), "*" (whole request) or the body field path. */
  body: DescField[] | "*" | undefined;
  responseBody: DescField | undefined;
  specificity: number;
  call: Unary;
}

/** grpc-gateway's HTTPStatusFromCode; the numeric Code values are gRPC's. */
const httpStatus: Record<Code, number> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  // overloaded: 503 with Retry-After, as every HTTP face of dtx answers it (413 for a body too large)
  [Code.ResourceExhausted]: 503,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/**
 * Headers that describe the HTTP exchange rather than the call; the in-process transport sets its own,
 * and a forwarded `content-length` would describe the JSON body, not the binary message.
 */
const protocolHeader =
  /^(:.*|host|connection|keep-alive|proxy-.*|te|trailer|transfer-encoding|upgrade|expect|http2-settings|content-(length|type|encoding)|accept|accept-encoding|connect-.*|grpc-.*)$/i;

/**
 * Creates a grpc-gateway-style REST/JSON transcoder for the unary methods of `services` that carry a
 * `google.api.http` annotation. Calls run in-process through `createRouterTransport` against the same
 * implementations, through `interceptors`.
 *
 * The returned function resolves `false` when no binding matches the request's method and path (so the
 * caller can try other routes) and `true` once it has answered. It never rejects.
 */
export function createRestGateway(
  services: { service: DescService; impl: Partial<ServiceImpl<any>> }[],
  opts: RestGatewayOptions = {},
): (req: Req, res: Res) => Promise<boolean> {
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  const transport = createRouterTransport(
    (router) => {
      for (const { service, impl } of services) router.service(service, impl);
    },
    { router: { interceptors: opts.interceptors ?? [] } },
  );
  const routes: Route[] = [];
  for (const { service } of services) {
    const client = createClient(service, transport) as unknown as Record<string, Unary>;
    for (const method of service.methods) {
      const bindings = httpBindings(method);
      if (bindings.length === 0) continue;
      const call = client[method.localName].bind(client);
      for (const binding of bindings) routes.push(compileRule(method, binding, call));
    }
  }
  // Prefer literal segments over variables, whatever order the protos declare them in.
  routes.sort((a, b) => b.specificity - a.specificity);

  return async (req, res) => {
    // Split by hand: new URL() would read a path starting with "//" as a host.
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const pathname = q < 0 ? target : target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? "" : target.slice(q + 1));
    for (const route of routes) {
      if (route.httpMethod !== req.method && route.httpMethod !== "*") continue;
      const m = route.regex.exec(pathname);
      if (!m) continue;
      nameRoute(req, route.method.name);
      try {
        await serve(route, m, query, req, res, maxBodyBytes);
      } catch (err) {
        sendError(res, ConnectError.from(err));
      }
      return true;
    }
    return false;
  };
}

function compileRule(method: DescMethod, rule: HttpBinding, call: Unary): Route {
  const { httpMethod, template, path, verb } = rule;
  const where = `${method.parent.typeName}.${method.name} "${template}"`;
  const vars: Route["vars"] = [];
  let source = "^";
  let specificity = verb ? 1 : 0;
  for (const segment of templateSegments(path)) {
    source += "/";
    const variable = /^\{([^=}]+)(?:=(.*))?\}$/.exec(segment);
    if (variable) {
      const sub = variable[2] ?? "*";
      source += `(${sub.split("/").map(segmentRegex).join("/")})`;
      vars.push({ fields: resolve(method.input, variable[1], where), multi: sub !== "*" });
    } else {
      source += segmentRegex(segment);
      if (segment !== "*" && segment !== "**") specificity += 2;
    }
  }
  source += (verb ? ":" + escapeRegex(verb) : "") + "$";
  const body =
    rule.body === "" ? undefined : rule.body === "*" ? "*" : resolve(method.input, rule.body, where);
  const responseBody = rule.responseBody ? resolve(method.output, rule.responseBody, where)[0] : undefined;
  return { method, httpMethod, regex: new RegExp(source), vars, body, responseBody, specificity, call };
}

function segmentRegex(segment: string): string {
  return segment === "**" ? ".*" : segment === "*" ? "[^/]+" : escapeRegex(segment);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Resolves a dotted field path (proto or JSON names); a bad path in an annotation is a startup error. */
function resolve(schema: DescMessage, dotted: string, where: string): DescField[] {
  const fields = lookup(schema, dotted);
  if (!fields) throw new Error(`${where}: no field "${dotted}" in ${schema.typeName}`);
  return fields;
}

function lookup(schema: DescMessage | undefined, dotted: string): DescField[] | undefined {
  const fields: DescField[] = [];
  for (const name of dotted.split(".")) {
    const field = schema?.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) return undefined;
    fields.push(field);
    schema = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

async function serve(
  route: Route,
  m: RegExpExecArray,
  query: URLSearchParams,
  req: Req,
  res: Res,
  maxBodyBytes: number,
): Promise<void> {
  let json: JsonObject = {};
  if (route.body) {
    const raw = await readBody(req, maxBodyBytes);
    if (raw === TOO_LARGE) {
      const message = tooLargeMessage(maxBodyBytes);
      refuseUpload(req, res as NodeRes, 413, { code: Code.ResourceExhausted, message, details: [] });
      return;
    }
    const text = utf8Text(raw);
    if (text === null) throw new ConnectError("invalid JSON body: not valid UTF-8", Code.InvalidArgument);
    let parsed: JsonValue = {};
    try {
      if (raw.length > 0) parsed = JSON.parse(text) as JsonValue;
    } catch (err) {
      throw new ConnectError(`invalid JSON body: ${(err as Error).message}`, Code.InvalidArgument);
    }
    checkJsonInput(parsed);
    if (route.body === "*") {
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        throw new ConnectError("invalid JSON body: expected an object", Code.InvalidArgument);
      json = parsed;
    } else setPath(json, route.body, parsed);
  }
  // Query parameters fill only what neither the body nor the path binds (grpc-gateway's filter).
  if (route.body !== "*") {
    const bound = route.vars.map((v) => v.fields).concat(route.body ? [route.body] : []);
    for (const key of new Set(query.keys())) {
      const fields = lookup(route.method.input, key);
      if (!fields) continue; // grpc-gateway ignores unknown parameters (cache busters and the like)
      if (bound.some((b) => b.every((f, i) => fields[i] === f))) continue;
      const leaf = fields[fields.length - 1];
      const values = query.getAll(key).map((v) => scalarJson(leaf, v));
      if (leaf.fieldKind === "list") setPath(json, fields, values);
      else if (values.length > 1 || leaf.fieldKind === "map")
        throw new ConnectError(`query parameter "${key}": one value expected`, Code.InvalidArgument);
      else setPath(json, fields, values[0]);
    }
  }
  route.vars.forEach((v, i) => {
    const raw = m[i + 1];
    let value: string;
    try {
      // Multi-segment values keep %2F encoded, so "/" inside a segment stays distinguishable.
      value = v.multi ? raw.split(/%2F/i).map(decodeURIComponent).join("%2F") : decodeURIComponent(raw);
    } catch {
      throw new ConnectError(`path: bad percent-encoding in "${raw}"`, Code.InvalidArgument);
    }
    setPath(json, v.fields, scalarJson(v.fields[v.fields.length - 1], value));
  });

  let input;
  try {
    input = fromJson(route.method.input, json, { ignoreUnknownFields: false });
  } catch (err) {
    const path = failingJsonPath(route.method.input, json);
    const message = (err as Error).message;
    throw new ConnectError(path === undefined ? message : `${path}: ${message}`, Code.InvalidArgument);
  }
  const abort = new AbortController();
  // A client that hangs up cancels the call, as it would over gRPC.
  res.once("close", () => abort.abort());
  const responseHeaders: Record<string, string> = {};
  const output = await route.call(input, {
    headers: forwardable(req.headers),
    signal: abort.signal,
    onHeader: (h: Headers) => h.forEach((v, k) => !protocolHeader.test(k) && (responseHeaders[k] = v)),
  });
  let body = toJson(route.method.output, output as never);
  if (route.responseBody) {
    const key = route.responseBody.jsonName;
    // toJson omits implicit defaults; the body of the response still has to be that field's value.
    body =
      (body as JsonObject)[key] ??
      (toJson(route.method.output, output as never, { alwaysEmitImplicit: true }) as JsonObject)[key] ??
      null;
  }
  send(res, 200, body, responseHeaders);
}

/** Proto JSON wants booleans and enum numbers as JSON values; everything else parses from a string. */
function scalarJson(field: DescField, raw: string): JsonValue {
  const isEnum = field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum");
  if (isEnum && /^-?\d+$/.test(raw)) return Number(raw);
  const isBool =
    (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) &&
    field.scalar === ScalarType.BOOL;
  if (isBool && (raw === "true" || raw === "false")) return raw === "true";
  return raw;
}

/** Sets `value` at a field path, creating objects on the way and dropping the other spelling of a key. */
function setPath(root: JsonObject, fields: DescField[], value: JsonValue): void {
  let obj = root;
  fields.forEach((f, i) => {
    if (f.name !== f.jsonName && f.name in obj) {
      obj[f.jsonName] ??= obj[f.name];
      delete obj[f.name];
    }
    if (i === fields.length - 1) {
      obj[f.jsonName] = value;
      return;
    }
    const next = obj[f.jsonName];
    obj = obj[f.jsonName] = next !== null && typeof next === "object" && !Array.isArray(next) ? next : {};
  });
}

function forwardable(headers: Req["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !protocolHeader.test(k)) out[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function sendError(res: Res, err: ConnectError, status = httpStatus[err.code] ?? 500): void {
  // Errors from the in-process transport come decoded from the wire, so details are raw Any payloads;
  // with no type registry at hand they go out as type URL and base64 value.
  const details = err.details.map((d): JsonValue =>
    "type" in d
      ? { "@type": `type.googleapis.com/${d.type}`, value: Buffer.from(d.value).toString("base64") }
      : { "@type": `type.googleapis.com/${d.desc.typeName}` },
  );
  const retry = status === 503 ? { "retry-after": String(RETRY_AFTER_SECONDS) } : undefined;
  send(res, status, { code: err.code, message: err.rawMessage, details }, retry);
}

function send(res: Res, status: number, body: JsonValue, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
