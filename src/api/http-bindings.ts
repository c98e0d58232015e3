import { getOption, type DescMethod } from "@bufbuild/protobuf";
import { http } from "../../gen/google/api/annotations_pb";

/** One `google.api.http` binding of a method, as the REST gateway routes it and the OpenAPI document shows it. */
export interface HttpBinding {
  /** `GET`, `POST`, … (`*` for a custom `*` kind). */
  httpMethod: string;
  /** The whole template, e.g. `/v1/admin/transactions/{gid}:forceStop`. */
  template: string;
  /** The template without its verb: `/v1/admin/transactions/{gid}`. */
  path: string;
  /** The `:verb` after the last segment, without the colon; "" when there is none. */
  verb: string;
  /** "" (no body), "*" (the whole request) or the request field the body fills. */
  body: string;
  /** "" (the whole response) or the response field answered as the body. */
  responseBody: string;
}

/**
 * A unary method's bindings (the rule and its additional bindings); none for a method without the
 * annotation or a streaming one.
 *
 * @throws Error when a template does not start with "/"
 */
export function httpBindings(method: DescMethod): HttpBinding[] {
  if (method.methodKind !== "unary") return []; // streaming has no JSON mapping here
  const rule = getOption(method, http);
  const out: HttpBinding[] = [];
  for (const binding of [rule, ...rule.additionalBindings]) {
    const { pattern } = binding;
    if (pattern.case === undefined) continue;
    const [httpMethod, template] =
      pattern.case === "custom"
        ? [pattern.value.kind.toUpperCase(), pattern.value.path]
        : [pattern.case.toUpperCase(), pattern.value];
    if (!template.startsWith("/")) {
      throw new Error(`${method.parent.typeName}.${method.name} "${template}": template must start with "/"`);
    }
    // The verb is a ":literal" after the last segment; colons inside {var=...} are not verbs.
    let path = template;
    let verb = "";
    const colon = template.lastIndexOf(":");
    if (colon > template.lastIndexOf("/") && colon > template.lastIndexOf("}")) {
      path = template.slice(0, colon);
      verb = template.slice(colon + 1);
    }
    out.push({ httpMethod, template, path, verb, body: binding.body, responseBody: binding.responseBody });
  }
  return out;
}

/** The `{var}` and `{var=pattern}` segments of a path, split from the literal ones. */
export function templateSegments(path: string): string[] {
  return path.slice(1).match(/\{[^}]*\}|[^/]+/g) ?? [];
}
