/**
 * The OpenAPI document: generated from the descriptors the REST gateway routes from, written to
 * docs/openapi.json by the build (a drift fails here), served at /api/openapi.json, valid OpenAPI 3.1 by a
 * maintained validator, and every operation it lists is one the gateway routes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { openApiDocument } from "../../src/api/openapi";
import { dtxVersion } from "../../src/server/version";
import { TestCoordinator } from "../support/coordinator";

const generated = openApiDocument(dtxVersion());
let dtx: TestCoordinator;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
});
afterAll(async () => {
  await dtx?.close();
});

test("docs/openapi.json is what the build generates from the protos (run npm run build after changing them)", () => {
  const committed = readFileSync(join(__dirname, "..", "..", "docs", "openapi.json"), "utf8");
  expect(JSON.parse(committed)).toEqual(generated);
});

test("the document is valid OpenAPI 3.1", async () => {
  // an ES module: imported as Node imports it (the test transform would turn import() into require)
  const esmImport = new Function("name", "return import(name)") as (name: string) => Promise<any>;
  const { Validator } = await esmImport("@seriousme/openapi-schema-validator");
  const result = await new Validator().validate(generated as object);
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
  expect(generated.openapi).toBe("3.1.0");
});

test("GET /api/openapi.json serves the same document", async () => {
  const res = await request(`${dtx.base}/api/openapi.json`);
  expect(res.statusCode).toBe(200);
  expect(res.headers["content-type"]).toBe("application/json");
  expect(await res.body.json()).toEqual(generated);
});

test("every operation of the document is routed by the REST gateway; the admin ones need the token", async () => {
  const paths = generated.paths as Record<string, Record<string, { security?: unknown[] }>>;
  const operations = Object.entries(paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  expect(operations.length).toBeGreaterThan(20);
  for (const { path, method } of operations) {
    const url = dtx.base + path.replace(/\{[^}]+\}/g, "openapi-probe");
    const res = await request(url, {
      method: method as "GET",
      headers: { "content-type": "application/json" },
      body: method === "GET" || method === "DELETE" ? undefined : "{}",
    });
    const body = (await res.body.json()) as { message?: string };
    expect([method, path, body.message ?? ""]).not.toEqual([
      method,
      path,
      `no route for ${method} ${url.slice(dtx.base.length)}`,
    ]);
  }
  const guarded = operations.filter((o) => o.op.security !== undefined).map((o) => o.path.split("/")[2]);
  expect(new Set(guarded)).toEqual(new Set(["admin"]));
});
