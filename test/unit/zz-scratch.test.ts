import * as http2 from "node:http2";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { createRestGateway } from "../../src/api/rest-gateway";
import { Listener } from "../../src/server/listener";

it("413 over h2 and big h1", async () => {
  const gw = createRestGateway([{ service: CoordinatorService, impl: { submitSaga: (r) => ({ gid: r.gid }) } }]);
  const l = await Listener.listen({ host: "127.0.0.1", port: 0, handler: (req, res) => void gw(req, res).then((h) => { if (!h) { res.writeHead(404); res.end(); } }) });
  const base = `http://127.0.0.1:${l.port}`;
  const big = "x".repeat(5 * 1024 * 1024);
  try {
    const r = await request(base + "/v1/sagas", { method: "POST", body: big });
    console.log("h1 declared big:", r.statusCode, r.headers.connection, await r.body.text());
  } catch (e) { console.log("h1 big error", e); }
  const s = http2.connect(base);
  for (const [len, declared] of [[5 * 1024 * 1024, true], [5 * 1024 * 1024, false], [10, true]] as const) {
    const out = await new Promise((resolve) => {
      const body = len === 10 ? '{"gid":"a"}' : big;
      const st = s.request({ ":method": "POST", ":path": "/v1/sagas", ...(declared ? { "content-length": String(Buffer.byteLength(body)) } : {}) });
      let status = 0, text = "";
      st.on("response", (h) => (status = Number(h[":status"])));
      st.on("data", (d) => (text += d));
      st.on("end", () => resolve([status, text]));
      st.on("error", (e) => resolve(["err", String(e)]));
      st.end(body);
    });
    console.log("h2", len, declared, out);
  }
  s.close();
  const t = Date.now();
  const iv = setInterval(() => { const x = l as any; console.log("open", x.sockets.size, x.sessions.size, x.inFlight.size, [...x.sessions].map((s: any) => [s.closed, s.destroyed, Object.keys(s.state)])); }, 1000);
  setTimeout(() => clearInterval(iv), 4500);
  await l.close();
  console.log("closed in", Date.now() - t);
});
