/**
 * The OpenAPI 3.1 document of the REST API, generated from the same descriptors and `google.api.http`
 * bindings the REST gateway routes from — no hand-kept copy. Schemas follow protobuf's JSON mapping
 * (camelCase names, 64-bit integers and bytes as strings, enums by name, Timestamp and Duration as text).
 */
import {
  ScalarType,
  type DescEnum,
  type DescField,
  type DescMessage,
  type DescService,
} from "@bufbuild/protobuf";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TopicService } from "../../gen/dtx/v1/topics_pb";
import { httpBindings, templateSegments } from "./http-bindings";

/** The services the REST gateway serves, in routing order. */
export const REST_SERVICES: readonly DescService[] = [CoordinatorService, TopicService, AdminService];

/** Services whose calls need `authorization: Bearer <admin token>`. */
const GUARDED = new Set([AdminService.typeName]);

type Schema = Record<string, unknown>;

/** Well-known types with a JSON form of their own. */
const WELL_KNOWN: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": {
    type: "string",
    pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$",
    examples: ["10s", "1.5s"],
  },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
};

const SCALARS: Record<ScalarType, Schema> = {
  [ScalarType.DOUBLE]: { type: "number" },
  [ScalarType.FLOAT]: { type: "number" },
  [ScalarType.INT64]: { type: "string", format: "int64" },
  [ScalarType.UINT64]: { type: "string", format: "uint64" },
  [ScalarType.INT32]: { type: "integer", format: "int32" },
  [ScalarType.FIXED64]: { type: "string", format: "uint64" },
  [ScalarType.FIXED32]: { type: "integer", format: "int32" },
  [ScalarType.BOOL]: { type: "boolean" },
  [ScalarType.STRING]: { type: "string" },
  [ScalarType.BYTES]: { type: "string", contentEncoding: "base64" },
  [ScalarType.UINT32]: { type: "integer", format: "int32" },
  [ScalarType.SFIXED32]: { type: "integer", format: "int32" },
  [ScalarType.SFIXED64]: { type: "string", format: "int64" },
  [ScalarType.SINT32]: { type: "integer", format: "int32" },
  [ScalarType.SINT64]: { type: "string", format: "int64" },
};

/** Builds the document; `version` is the server's. */
export function openApiDocument(version: string, services: readonly DescService[] = REST_SERVICES): Schema {
  const schemas: Record<string, Schema> = {};
  const ref = (desc: DescMessage | DescEnum): Schema => {
    if (WELL_KNOWN[desc.typeName]) return WELL_KNOWN[desc.typeName]!;
    if (!(desc.typeName in schemas)) {
      schemas[desc.typeName] = {}; // placeholder: recursion ends here
      schemas[desc.typeName] = desc.kind === "enum" ? enumSchema(desc) : messageSchema(desc, fieldSchema);
    }
    return { $ref: `#/components/schemas/${desc.typeName}` };
  };
  const fieldSchema = (field: DescField): Schema => {
    const one = (f: { scalar?: ScalarType; message?: DescMessage; enum?: DescEnum }): Schema =>
      f.message ? ref(f.message) : f.enum ? ref(f.enum) : SCALARS[f.scalar!];
    switch (field.fieldKind) {
      case "list":
        return { type: "array", items: one(field) };
      case "map":
        return {
          type: "object",
          additionalProperties: one({
            scalar: field.mapKind === "scalar" ? field.scalar : undefined,
            message: field.message,
            enum: field.enum,
          }),
        };
      default:
        return one(field);
    }
  };
  schemas["google.rpc.Status"] = {
    type: "object",
    description: "An error: its gRPC code (a number), message and details.",
    properties: {
      code: { type: "integer" },
      message: { type: "string" },
      details: { type: "array", items: { type: "object" } },
    },
  };
  const paths: Record<string, Record<string, Schema>> = {};
  for (const service of services) {
    for (const method of service.methods) {
      for (const binding of httpBindings(method)) {
        const params: Schema[] = [];
        let openPath = "";
        const pathFields = new Set<string>();
        for (const segment of templateSegments(binding.path)) {
          const variable = /^\{([^=}]+)(?:=.*)?\}$/.exec(segment);
          if (!variable) {
            openPath += `/${segment}`;
            continue;
          }
          const name = variable[1]!;
          const field = method.input.fields.find((f) => f.name === name || f.jsonName === name);
          pathFields.add(name);
          openPath += `/{${name}}`;
          params.push({
            name,
            in: "path",
            required: true,
            schema: field ? fieldSchema(field) : { type: "string" },
          });
        }
        if (binding.verb) openPath += `:${binding.verb}`;
        if (binding.body === "") {
          for (const field of method.input.fields) {
            if (pathFields.has(field.name) || pathFields.has(field.jsonName)) continue;
            params.push({ name: field.jsonName, in: "query", schema: fieldSchema(field) });
          }
        }
        const operation: Schema = {
          operationId: `${service.name}_${method.name}`,
          summary: `${service.name}.${method.name}`,
          tags: [service.name],
          parameters: params,
          responses: {
            "200": {
              description: "OK",
              content: {
                "application/json": {
                  schema: binding.responseBody
                    ? fieldSchema(
                        method.output.fields.find(
                          (f) => f.name === binding.responseBody || f.jsonName === binding.responseBody,
                        )!,
                      )
                    : ref(method.output),
                },
              },
            },
            default: {
              description: "An error",
              content: { "application/json": { schema: { $ref: "#/components/schemas/google.rpc.Status" } } },
            },
          },
        };
        if (binding.body !== "") {
          const field = method.input.fields.find(
            (f) => f.name === binding.body || f.jsonName === binding.body,
          );
          operation.requestBody = {
            required: true,
            content: {
              "application/json": { schema: binding.body === "*" ? ref(method.input) : fieldSchema(field!) },
            },
          };
        }
        if (GUARDED.has(service.typeName)) operation.security = [{ adminToken: [] }];
        (paths[openPath] ??= {})[binding.httpMethod.toLowerCase()] = operation;
      }
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "dtx",
      version,
      description:
        "dtx's native REST API (transcoded from its gRPC services). dtm's HTTP API under /api/dtmsvr is described in dtm's documentation.",
    },
    paths: sortKeys(paths),
    components: {
      schemas: sortKeys(schemas),
      securitySchemes: {
        adminToken: {
          type: "http",
          scheme: "bearer",
          description: "admin.token, or a token of admin.tokenFile",
        },
      },
    },
  };
}

function enumSchema(desc: DescEnum): Schema {
  return { type: "string", enum: desc.values.map((v) => v.name) };
}

function messageSchema(desc: DescMessage, fieldSchema: (f: DescField) => Schema): Schema {
  const properties: Record<string, Schema> = {};
  for (const field of desc.fields) properties[field.jsonName] = fieldSchema(field);
  return { type: "object", properties };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
