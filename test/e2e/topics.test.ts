/**
 * Topics end to end (scenario 65 of §10.3, dtm's topic_test.go): subscribe, unsubscribe and delete over
 * dtm's HTTP routes and its gRPC service, the kv rows they leave (scanKV, queryKV), and concurrent
 * subscribes and unsubscribes keeping the version exact.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { TestCoordinator } from "../support/coordinator";
import { OK } from "./saga-helpers";

let dtx: TestCoordinator;
let grpc: Client<typeof Dtm>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  grpc = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
});
afterAll(async () => {
  await dtx?.close();
});

const q = (params: Record<string, string>): string => new URLSearchParams(params).toString();

/** dtm's three topic calls over one face; each resolves with null on success or the error text. */
interface Face {
  subscribe(topic: string, url: string): Promise<string | null>;
  unsubscribe(topic: string, url: string): Promise<string | null>;
  deleteTopic(topic: string): Promise<string | null>;
}

const http: Face = {
  subscribe: async (topic, url) =>
    textOf(await dtx.get(`/api/dtmsvr/subscribe?${q({ topic, url, remark: "for test" })}`)),
  unsubscribe: async (topic, url) => textOf(await dtx.get(`/api/dtmsvr/unsubscribe?${q({ topic, url })}`)),
  deleteTopic: async (topic) => {
    const { request } = await import("undici");
    const res = await request(`${dtx.base}/api/dtmsvr/topic/${encodeURIComponent(topic)}`, {
      method: "DELETE",
    });
    return textOf({ status: res.statusCode, body: await res.body.json() });
  },
};

function textOf(res: { status: number; body: any }): string | null {
  if (res.status === 200) {
    expect(res).toEqual(OK);
    return null;
  }
  return `${res.status} ${res.body.message}`;
}

const grpcFace: Face = {
  subscribe: (topic, url) => grpcText(grpc.subscribe({ Topic: topic, URL: url, Remark: "for test" })),
  unsubscribe: (topic, url) => grpcText(grpc.unsubscribe({ Topic: topic, URL: url })),
  deleteTopic: (topic) => grpcText(grpc.deleteTopic({ Topic: topic })),
};

async function grpcText(call: Promise<unknown>): Promise<string | null> {
  try {
    await call;
    return null;
  } catch (err) {
    const e = ConnectError.from(err);
    return `${Code[e.code]} ${e.rawMessage}`;
  }
}

async function queryKV(cat: string, key: string): Promise<any[]> {
  const { status, body } = await dtx.get(`/api/dtmsvr/queryKV?${q({ cat, key })}`);
  expect(status).toBe(200);
  return body.kv;
}

describe.each([
  ["HTTP", () => http, { exists: "409 this url exists. FAILURE", empty: "400 topic: empty topic. FAILURE" }],
  [
    "gRPC",
    () => grpcFace,
    { exists: "Aborted this url exists", empty: "InvalidArgument Topic: empty topic" },
  ],
])("65 over %s", (name, face, texts) => {
  const topic = `test_topic_${name}`;

  test("subscribe: ok; the same url again, an empty topic or url → errors; a second url ok", async () => {
    const f = face();
    expect(await f.subscribe(topic, "http://dtm/test1")).toBeNull();
    expect(await f.subscribe(topic, "http://dtm/test1")).toBe(texts.exists);
    expect(await f.subscribe("", "http://dtm/test1")).toBe(texts.empty);
    expect(await f.subscribe(topic, "")).toMatch(/empty url/);
    expect(await f.subscribe(topic, "http://dtm/test2")).toBeNull();
    const [kv] = await queryKV("topics", topic);
    expect(kv).toEqual({
      id: expect.any(Number),
      create_time: expect.any(String),
      update_time: expect.any(String),
      cat: "topics",
      k: topic,
      v: JSON.stringify([
        { url: "http://dtm/test1", remark: "for test" },
        { url: "http://dtm/test2", remark: "for test" },
      ]),
      version: 2,
    });
  });

  test("unsubscribe: ok; again, empty topic or url, unknown topic → errors; the last url ok, then empty", async () => {
    const f = face();
    expect(await f.unsubscribe(topic, "http://dtm/test1")).toBeNull();
    expect(await f.unsubscribe(topic, "http://dtm/test1")).toMatch(/no such an url/);
    expect(await f.unsubscribe("", "http://dtm/test1")).toBe(texts.empty);
    expect(await f.unsubscribe(topic, "")).toMatch(/empty url/);
    expect(await f.unsubscribe("non_existent_topic", "http://dtm/test1")).toMatch(/no such a topic/);
    expect(await f.unsubscribe(topic, "http://dtm/test2")).toBeNull();
    expect(await f.unsubscribe(topic, "http://dtm/test2")).toMatch(/this topic is empty/);
    const [kv] = await queryKV("topics", topic);
    expect([kv.v, kv.version]).toEqual(["[]", 4]);
  });

  test("delete: an unknown topic → error; an existing one → ok, and its row is gone", async () => {
    const f = face();
    expect(await f.deleteTopic("non_existent_testDeleteTopic")).toMatch(/no such a topic/);
    expect(await f.deleteTopic(topic)).toBeNull();
    expect(await queryKV("topics", topic)).toEqual([]);
  });
});

test("65: 20 concurrent subscribes, then concurrent unsubscribes → every one takes effect, version = 2 × 20", async () => {
  const topic = "concurrent_topic";
  const urls = Array.from({ length: 20 }, (_, i) => `http://dtm/test${i}`);
  expect(await Promise.all(urls.map((u) => http.subscribe(topic, u)))).toEqual(urls.map(() => null));
  let [kv] = await queryKV("topics", topic);
  expect(
    JSON.parse(kv.v)
      .map((s: { url: string }) => s.url)
      .sort(),
  ).toEqual([...urls].sort());
  expect(kv.version).toBe(20);
  expect(await Promise.all(urls.map((u) => http.unsubscribe(topic, u)))).toEqual(urls.map(() => null));
  [kv] = await queryKV("topics", topic);
  expect([kv.v, kv.version]).toEqual(["[]", 40]);
});

test("subscribe refuses a url nothing can call (400, nothing written)", async () => {
  expect(await http.subscribe("bad_url_topic", "ftp://x/y")).toBe(
    '400 url: "ftp://x/y" is neither an http(s) URL nor host:port/package.Service/Method. FAILURE',
  );
  expect(await queryKV("topics", "bad_url_topic")).toEqual([]);
  // a gRPC subscriber is fine (a grpc message calls it)
  expect(await http.subscribe("grpc_topic", "127.0.0.1:5000/busi.Busi/TransIn")).toBeNull();
});

test("scanKV pages newest first with next_position; queryKV by category", async () => {
  for (const t of ["scan_a", "scan_b", "scan_c"]) expect(await http.subscribe(t, "http://dtm/x")).toBeNull();
  const first = await dtx.get(`/api/dtmsvr/scanKV?${q({ cat: "topics", limit: "2" })}`);
  expect(first.status).toBe(200);
  expect(first.body.kv.map((r: any) => r.k)).toEqual(["scan_c", "scan_b"]);
  expect(first.body.next_position).toBe(String(first.body.kv[1].id));
  const rest: string[] = [];
  let position = first.body.next_position;
  while (position !== "") {
    const page = await dtx.get(`/api/dtmsvr/scanKV?${q({ cat: "topics", limit: "2", position })}`);
    rest.push(...page.body.kv.map((r: any) => r.k));
    position = page.body.next_position;
  }
  expect(rest.slice(0, 1)).toEqual(["scan_a"]);
  const all = await queryKV("topics", "");
  expect(all.map((r) => r.k)).toEqual(expect.arrayContaining(["scan_a", "scan_b", "scan_c"]));
  expect(await queryKV("nothing", "")).toEqual([]);
  expect(await dtx.get(`/api/dtmsvr/scanKV?${q({ cat: "topics", limit: "x" })}`)).toMatchObject({
    status: 400,
    body: { message: expect.stringContaining("limit: must be") },
  });
});
