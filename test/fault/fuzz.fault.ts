/**
 * A seeded corpus of 10,000 malformed requests across dtm's HTTP routes, dtm's gRPC service, the
 * native API over Connect (JSON and binary) and REST, and JSON-RPC: no answer is a 5xx (gRPC: no
 * UNKNOWN, INTERNAL, UNAVAILABLE or DATA_LOSS) or carries a stack or database text; no row exists that
 * only a refused request could have written; and the coordinator serves a normal saga afterwards.
 * The seed is printed with every failure (DTX_TEST_FAULT_SEED replays it).
 */
import { fromBinary, type DescMessage } from "@bufbuild/protobuf";
import * as http2 from "node:http2";
import { Pool } from "undici";
import {
  DtmBranchRequestSchema,
  DtmRequestSchema,
  DtmTopicRequestSchema,
} from "../../gen/dtmgimp/dtmgimp_pb";
import {
  BeginTccRequestSchema,
  PrepareMsgRequestSchema,
  RegisterTccBranchRequestSchema,
  SubmitSagaRequestSchema,
} from "../../gen/dtx/v1/coordinator_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { recordFigures } from "./support/figures";
import { fuzzCorpus, type FuzzRequest } from "./support/fuzz-corpus";
import { faultSeed } from "./support/scenario";

const COUNT = 10_000;
const CONCURRENCY = 16;
const seed = faultSeed();
/** gRPC codes that mean a server fault. */
const FAULT_CODES = new Set(["2", "13", "14", "15"]);
/** What an answer must never show: a stack frame, or a database's own error text. */
const LEAK =
  /\n\s+at |node:internal|syntax error at|violates .* constraint|invalid byte sequence|relation "|column "/;

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({ recovery: { enabled: true } });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
}, 30_000);

interface Answer {
  ok: boolean;
  fault: string | null;
  /** The answer's text (a gid the server made up is in it). */
  text?: string;
  /** Cut off by the session's GOAWAY before any answer: send it again. */
  retry?: boolean;
}

test(`${COUNT} malformed requests on every face: 0 5xx, 0 rows from refused requests, alive after (seed ${seed})`, async () => {
  const tccGids = Array.from({ length: 8 }, (_, i) => `fz${seed}tcc${i}`);
  for (const gid of tccGids) {
    expect((await dtx.post("/api/dtmsvr/prepare", { gid, trans_type: "tcc" })).status).toBe(200);
  }
  const accepted = new Set<string>(tccGids);
  const faults: string[] = [];
  const byFace = new Map<string, number>();
  const pool = new Pool(dtx.base, { connections: CONCURRENCY, pipelining: 1 });
  const h2 = new Sessions(dtx.base);
  const corpus = fuzzCorpus(seed, COUNT, { url: (n) => rm.url(n), tccGids });
  let n = 0;
  const worker = async (): Promise<void> => {
    for (let next = corpus.next(); !next.done; next = corpus.next()) {
      const req = next.value;
      const i = n++;
      byFace.set(req.face, (byFace.get(req.face) ?? 0) + 1);
      let answer = req.face === "dtm-grpc" ? await grpcCall(h2.get(), req) : await httpCall(pool, req);
      // a stream the server's GOAWAY cut off before it answered is sent again on a new session
      for (let retry = 0; answer.retry && retry < 3; retry++) answer = await grpcCall(h2.get(), req);
      if (answer.fault) faults.push(`#${i} ${req.face} ${req.method} ${req.path}: ${answer.fault}`);
      if (answer.ok) {
        for (const key of keysOf(req)) accepted.add(key);
        for (const gid of answer.text?.match(/[2-9A-HJ-NP-Za-km-z]{22}/g) ?? []) accepted.add(gid);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    h2.close();
    await pool.close();
  }
  await dtx.settled();

  // every row names a gid (branch id, topic) that an accepted request carried
  const sql = (text: string) => dtx.app.store.sql.query("fuzz", text).then((r) => r.rows);
  const strays = [
    ...(await sql("select gid from trans_global"))
      .filter((r) => !accepted.has(r.gid))
      .map((r) => `trans ${r.gid}`),
    ...(await sql("select gid, branch_id from trans_branch_op"))
      .filter((r) => !accepted.has(r.gid) || (tccGids.includes(r.gid) && !accepted.has(r.branch_id)))
      .map((r) => `branch ${r.gid}/${r.branch_id}`),
    ...(await sql("select k from kv")).filter((r) => !accepted.has(r.k)).map((r) => `kv ${r.k}`),
  ];

  // and it still serves a normal saga
  const gid = `fz${seed}-after`;
  const after = await dtx.post("/api/dtmsvr/submit", {
    gid,
    trans_type: "saga",
    wait_result: true,
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: ['{"amount":1}'],
  });

  recordFigures({
    scenario: "fuzz corpus (dtm HTTP, dtm gRPC, Connect, REST, JSON-RPC)",
    transactions: (await sql("select count(*)::int as n from trans_global"))[0].n,
    acknowledged: 0,
    kills: 0,
    takeoverMs: [],
    requests: n,
    lost: 0,
    halfDone: 0,
    notes: `seed ${seed}; 5xx/faults ${faults.length}; stray rows ${strays.length}; GOAWAYs ${JSON.stringify(h2.goaways)}; ${[...byFace].map(([f, c]) => `${f} ${c}`).join(", ")}`,
  });
  expect({ seed, faults: faults.slice(0, 20), strays: strays.slice(0, 20) }).toEqual({
    seed,
    faults: [],
    strays: [],
  });
  expect(n).toBeGreaterThanOrEqual(COUNT);
  expect({ seed, after }).toEqual({ seed, after: { status: 200, body: { dtm_result: "SUCCESS" } } });
});

/** Sessions the server sent GOAWAY on. */
const goneAway = new WeakSet<http2.ClientHttp2Session>();

/** One HTTP/2 session at a time; a new one after the server sent GOAWAY (as a gRPC client reconnects). */
class Sessions {
  private session: http2.ClientHttp2Session | null = null;
  readonly goaways: Record<string, number> = {};

  constructor(private readonly base: string) {}

  get(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      const s = http2.connect(this.base);
      s.on("error", () => undefined);
      s.on("goaway", (code) => {
        goneAway.add(s);
        this.goaways[code] = (this.goaways[code] ?? 0) + 1;
        if (this.session === s) this.session = null;
      });
      this.session = s;
    }
    return this.session;
  }

  close(): void {
    this.session?.close();
  }
}

async function httpCall(pool: Pool, req: FuzzRequest): Promise<Answer> {
  try {
    const res = await pool.request({
      path: req.path,
      method: req.method,
      headers: req.contentType ? { "content-type": req.contentType } : {},
      body: req.method === "POST" ? req.body : undefined,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = Buffer.from(await res.body.arrayBuffer()).toString("latin1");
    const fault =
      res.statusCode >= 500
        ? `HTTP ${res.statusCode} ${text.slice(0, 200)}`
        : LEAK.test(text)
          ? `leaks internals: ${text.slice(0, 200)}`
          : null;
    return { ok: res.statusCode >= 200 && res.statusCode < 300, fault, text };
  } catch (err) {
    return { ok: false, fault: `no answer: ${(err as Error).message}` };
  }
}

function grpcCall(session: http2.ClientHttp2Session, req: FuzzRequest): Promise<Answer> {
  return new Promise((resolve) => {
    let status = 0;
    if (session.closed || session.destroyed) {
      resolve({ ok: false, fault: null, retry: true });
      return;
    }
    let code: string | undefined;
    let message = "";
    const stream = session.request({
      ":method": "POST",
      ":path": req.path,
      "content-type": req.contentType,
      te: "trailers",
    });
    const timer = setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 30_000);
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h[":status"]) status = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) code = String(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) message = decodeURIComponent(String(h["grpc-message"]));
    };
    stream.on("response", take);
    stream.on("trailers", take);
    stream.on("data", () => undefined);
    stream.on("error", () => undefined);
    stream.on("close", () => {
      clearTimeout(timer);
      if (code === undefined && goneAway.has(session)) {
        resolve({ ok: false, fault: null, retry: true });
        return;
      }
      const fault =
        status >= 500 || status === 0
          ? `HTTP/2 status ${status}`
          : code === undefined
            ? `no grpc-status (HTTP/2 status ${status}, stream reset ${stream.rstCode}, ${req.body.length} bytes sent)`
            : FAULT_CODES.has(code)
              ? `grpc-status ${code} ${message.slice(0, 200)}`
              : LEAK.test(message)
                ? `leaks internals: ${message.slice(0, 200)}`
                : null;
      resolve({ ok: code === "0", fault });
    });
    stream.end(req.body);
  });
}

/** The input message of each native method the corpus calls with binary protobuf. */
const CONNECT_INPUTS: Record<string, DescMessage> = {
  SubmitSaga: SubmitSagaRequestSchema,
  BeginTcc: BeginTccRequestSchema,
  RegisterTccBranch: RegisterTccBranchRequestSchema,
  PrepareMsg: PrepareMsgRequestSchema,
};

/**
 * Every string a request carried (its gids, branch ids, topics), decoded from the bytes sent; a number
 * or boolean as its text, since a JSON-RPC call of a GET route takes its params' scalar members as
 * query parameters (json-rpc.ts `queryOf`: a topic of 12 is the topic "12").
 */
function keysOf(req: FuzzRequest): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (typeof v === "number" || typeof v === "boolean") out.push(String(v));
    else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
  };
  for (const segment of req.path.split(/[/?&=:]/)) {
    try {
      out.push(decodeURIComponent(segment));
    } catch {
      out.push(segment);
    }
  }
  if (req.face === "dtm-grpc") {
    for (const schema of [DtmRequestSchema, DtmBranchRequestSchema, DtmTopicRequestSchema]) {
      try {
        walk(fromBinary(schema, req.body.subarray(5)));
      } catch {
        // not this message
      }
    }
  } else if (req.contentType === "application/proto") {
    try {
      walk(fromBinary(CONNECT_INPUTS[req.path.split("/").pop()!], req.body));
    } catch {
      // not decodable: nothing can have been written from it
    }
  } else {
    try {
      walk(JSON.parse(req.body.toString("utf8")));
    } catch {
      // not JSON: nothing can have been written from it
    }
  }
  return out;
}
