import { fromJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";

/**
 * Where in a request's JSON a proto JSON decode fails: the path of the deepest key whose value alone
 * does not decode, spelled as the request spells it (`saga.steps[0].payload`, `options.timeoutToFail`),
 * or undefined when no single key is to blame. protobuf-es names the failing field's type or proto
 * name (`google.protobuf.Duration`, `dtx.v1.SagaStep.action`) but not where it sits in the request.
 *
 * @example failingJsonPath(SubmitSagaRequestSchema, { options: { timeoutToFail: 60 } }) // "options.timeoutToFail"
 */
export function failingJsonPath(schema: DescMessage, json: JsonValue): string | undefined {
  if (!isObject(json)) return undefined;
  for (const [key, value] of Object.entries(json)) {
    if (decodes(schema, { [key]: value })) continue;
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
    if (field === undefined) return key;
    if (field.fieldKind === "message") return join(key, failingJsonPath(field.message, value));
    if (field.fieldKind === "list" && Array.isArray(value)) {
      const i = value.findIndex((item) =>
        field.listKind === "message" ? !decodes(field.message, item) : !decodes(schema, { [key]: [item] }),
      );
      if (i < 0) return key;
      const inner = field.listKind === "message" ? failingJsonPath(field.message, value[i]!) : undefined;
      return join(`${key}[${i}]`, inner);
    }
    return key;
  }
  return undefined;
}

function decodes(schema: DescMessage, json: JsonValue): boolean {
  try {
    fromJson(schema, json, { ignoreUnknownFields: false });
    return true;
  } catch {
    return false;
  }
}

function join(key: string, inner: string | undefined): string {
  return inner === undefined ? key : `${key}.${inner}`;
}

function isObject(v: JsonValue): v is { [k: string]: JsonValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
