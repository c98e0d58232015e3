/**
 * A request whose authority (`Host`, `:authority`) is not host[:port] — `::1:80`, or none at all — is
 * refused with an error naming the header, and the coordinator goes on serving. (The Connect adapter
 * builds each request's URL from the authority and threw outside any handler: one such request ended
 * the process.)
 */
import * as http2 from "node:http2";
import { connect } from "node:net";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
});
afterAll(async () => {
  await dtx?.close();
});

/** Sends `head` (and nothing else) on a new connection; resolves with everything answered until close. */
function rawHttp1(head: string): Promise<string> {
  const { port } = new URL(dtx.base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), "127.0.0.1");
    let answer = "";
    socket.on("data", (d: Buffer) => (answer += d.toString("utf8")));
    socket.on("error", reject);
    socket.on("end", () => resolve(answer));
    socket.write(head);
  });
}

/** A Connect (JSON over HTTP/1.1) request with the given Host line, or without one. */
function connectRequest(hostLine: string): string {
  const body = "{}";
  return (
    `POST /dtmgimp.Dtm/NewGid HTTP/1.1\r\n${hostLine}content-type: application/json\r\n` +
    `content-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`
  );
}

async function stillServes(): Promise<void> {
  const res = await dtx.get("/api/dtmsvr/newGid");
  expect(res.status).toBe(200);
  expect(typeof res.body.gid).toBe("string");
}

test("HTTP/1.1 with Host ::1:80: 400 naming the Host header, and the coordinator still serves", async () => {
  const answer = await rawHttp1(connectRequest("Host: ::1:80\r\n"));
  expect(answer.split("\r\n")[0]).toBe("HTTP/1.1 400 Bad Request");
  expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toEqual({
    message: 'the Host header "::1:80" is not a valid host[:port]',
  });
  await stillServes();
});

test("HTTP/1.0 without a Host header: 400 saying it is missing", async () => {
  const answer = await rawHttp1(connectRequest("").replace("HTTP/1.1", "HTTP/1.0"));
  expect(answer.split("\r\n")[0]).toMatch(/^HTTP\/1\.[01] 400 Bad Request$/);
  expect(answer).toContain('{"message":"the Host header is missing"}');
  await stillServes();
});

test("gRPC with :authority ::1:80: INVALID_ARGUMENT naming :authority, and the coordinator still serves", async () => {
  const session = http2.connect(dtx.base);
  try {
    const stream = session.request({
      ":method": "POST",
      ":path": "/dtmgimp.Dtm/NewGid",
      ":authority": "::1:80",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
    const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      stream.on("response", resolve);
      stream.on("error", reject);
    });
    expect(headers[":status"]).toBe(200);
    expect(headers["grpc-status"]).toBe("3");
    expect(decodeURIComponent(String(headers["grpc-message"]))).toBe(
      'the :authority header "::1:80" is not a valid host[:port]',
    );
  } finally {
    session.close();
  }
  await stillServes();
});
