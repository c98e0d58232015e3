/**
 * With `otel.endpoint` set, dtx starts the OpenTelemetry SDK and sends its spans over OTLP/HTTP: a
 * collector on loopback receives a submitted saga's trace with its branch calls, as service `dtx`.
 */
import { App } from "../../src/server/app";
import { createLogger } from "../../src/server/logger";
import { BranchServices } from "../support/branch-services";
import { dropSchema, newSchemaName, testConfig } from "../support/coordinator";
import { listenHttp } from "../support/listen";

jest.setTimeout(90_000);

test("a submitted saga's spans reach an OTLP/HTTP collector", async () => {
  const received: Array<{ path: string; body: string }> = [];
  const collector = await listenHttp(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8") });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  const rm = await BranchServices.start();
  const config = testConfig(
    { otel: { endpoint: `http://127.0.0.1:${collector.port}`, serviceName: "dtx-under-test" } },
    newSchemaName(),
  );
  const app = await App.start(config, { logger: createLogger("silent") });
  try {
    const res = await fetch(`http://127.0.0.1:${app.ports[0]}/api/dtmsvr/submit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        gid: "otlp-1",
        trans_type: "saga",
        wait_result: true,
        steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
        payloads: ["{}"],
      }),
    });
    expect(res.status).toBe(200);
  } finally {
    await app.close(); // sends the buffered spans
    await rm.close();
    await collector.close();
    await dropSchema(config.store.schema);
  }
  expect(received.length).toBeGreaterThan(0);
  expect(received.every((r) => r.path === "/v1/traces")).toBe(true);
  const text = received.map((r) => r.body).join("\n");
  expect(text).toContain("dtx-under-test");
  for (const name of ["POST submit", "pass saga", "branch action", "store insertTrans"]) {
    expect(text).toContain(name);
  }
  expect(text).toContain("otlp-1");
});
