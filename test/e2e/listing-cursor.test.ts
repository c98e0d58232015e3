/**
 * A listing cursor that no listing could have handed out — digits beyond the id range — is bad input
 * (400 / INVALID_ARGUMENT naming the cursor), never the store's error text; the largest id is a cursor.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TestCoordinator } from "../support/coordinator";

const TOO_LARGE = "99999999999999999999";
const LARGEST_ID = "9223372036854775807";

let dtx: TestCoordinator;
let sessions: Http2SessionManager;
let native: Client<typeof CoordinatorService>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  sessions = new Http2SessionManager(dtx.base);
  native = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
  const saga = { gid: "lc-1", trans_type: "saga", steps: [{ action: "", compensate: "" }], payloads: [""] };
  expect((await dtx.post("/api/dtmsvr/submit", { ...saga, wait_result: true })).status).toBe(200);
});
afterAll(async () => {
  sessions?.abort();
  await dtx?.close();
});

test("dtm /all: a position beyond the id range → 400 naming position", async () => {
  const res = await dtx.get(`/api/dtmsvr/all?position=${TOO_LARGE}`);
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ dtm_result: "FAILURE", message: expect.stringContaining("position") });
});

test("dtm /all: the largest id is a cursor: everything older is listed", async () => {
  const res = await dtx.get(`/api/dtmsvr/all?position=${LARGEST_ID}`);
  expect(res.status).toBe(200);
  expect(res.body.transactions.map((t: { gid: string }) => t.gid)).toEqual(["lc-1"]);
});

test("native ListTransactions: a page token beyond the id range → INVALID_ARGUMENT naming page_token", async () => {
  const err = await native.listTransactions({ pageToken: TOO_LARGE }).then(
    () => null,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err?.code).toBe(Code.InvalidArgument);
  expect(err?.rawMessage).toContain("page_token");
});

test("REST: a page token beyond the id range → 400 naming page_token", async () => {
  const res = await dtx.get(`/v1/transactions?pageToken=${TOO_LARGE}`);
  expect(res.status).toBe(400);
  expect(res.body).toMatchObject({
    code: Code.InvalidArgument,
    message: expect.stringContaining("page_token"),
  });
});
