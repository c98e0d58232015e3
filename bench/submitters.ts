/**
 * How the load generator submits one saga through each API: dtm's HTTP route, dtm's gRPC service, and
 * the native API as REST/JSON and as Connect. Clients are kept per coordinator and reused across jobs, so
 * connections stay open (keep-alive) from the warm-up into the measured window.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Client, credentials, type ServiceError } from "@grpc/grpc-js";
import { Pool } from "undici";
import { DtmRequestSchema, type DtmRequest } from "../gen/dtmgimp/dtmgimp_pb";
import { GRPC_SERVICE } from "./branch-service";
import { GRPC_PAYLOAD, PAYLOAD, WORKLOADS, type LoadJob, type Workload } from "./workloads";

/** Client-side limit on one submit; far above any healthy latency, it only keeps a stuck run bounded. */
const REQUEST_TIMEOUT_MS = 60_000;

const PAYLOAD_BASE64 = Buffer.from(PAYLOAD).toString("base64");
const identity = (b: Buffer): Buffer => b;
const serializeDtmRequest = (m: DtmRequest): Buffer => Buffer.from(toBinary(DtmRequestSchema, m));

/** Submits one saga with the given gid; throws unless the coordinator reports success. */
export type Submit = (gid: string) => Promise<void>;

/** Builds submit functions, keeping one client per coordinator origin. */
export class Submitters {
  private readonly pools = new Map<string, Pool>();
  private readonly channels = new Map<string, Client>();

  /** The submit function of `job`'s workload against `job`'s coordinator. */
  for(job: LoadJob): Submit {
    const w = WORKLOADS.find((x) => x.key === job.workload)!;
    switch (w.api) {
      case "dtm-http":
        return this.dtmHttp(job, w);
      case "dtm-grpc":
        return this.dtmGrpc(job);
      case "native-rest":
        return this.native(job, "/v1/sagas");
      case "native-connect":
        return this.native(job, "/dtx.v1.CoordinatorService/SubmitSaga");
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    for (const c of this.channels.values()) c.close();
    await Promise.all([...this.pools.values()].map((p) => p.close()));
  }

  /** One keep-alive undici pool per coordinator, a connection per worker. */
  private pool(job: LoadJob): Pool {
    let p = this.pools.get(job.origin);
    if (!p) {
      p = new Pool(job.origin, { connections: job.concurrency, keepAliveTimeout: 60_000 });
      this.pools.set(job.origin, p);
    }
    return p;
  }

  private async postJson(job: LoadJob, path: string, body: string): Promise<string> {
    const res = await this.pool(job).request({
      method: "POST",
      path,
      headers: { "content-type": "application/json" },
      body,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
    return text;
  }

  private dtmHttp(job: LoadJob, w: Workload): Submit {
    const base = `${job.branchHttp}/api/busi_bench`;
    const step = (name: string) =>
      w.branches === "none"
        ? { action: "", compensate: "" }
        : { action: `${base}/${name}`, compensate: `${base}/${name}Revert` };
    const steps = [step("TransOut"), step("TransIn")];
    return async (gid) => {
      const body = JSON.stringify({
        gid,
        trans_type: "saga",
        wait_result: job.waitResult ?? w.waitResult,
        ...(job.retryIntervalSec ? { retry_interval: job.retryIntervalSec } : {}),
        steps,
        payloads: [PAYLOAD, PAYLOAD],
      });
      await this.postJson(job, "/api/dtmsvr/submit", body);
    };
  }

  /**
   * dtm's gRPC Submit through one grpc-js channel (one HTTP/2 connection carrying every worker's calls,
   * as a dtm gRPC client application has), with gRPC branches.
   */
  private dtmGrpc(job: LoadJob): Submit {
    const target = job.origin.replace(/^http:\/\//, "");
    let channel = this.channels.get(target);
    if (!channel) {
      channel = new Client(target, credentials.createInsecure());
      this.channels.set(target, channel);
    }
    const client = channel;
    const base = `${job.branchGrpc}/${GRPC_SERVICE}`;
    const steps = JSON.stringify(
      ["TransOut", "TransIn"].map((n) => ({ action: `${base}/${n}`, compensate: `${base}/${n}Revert` })),
    );
    return (gid) => {
      const request = create(DtmRequestSchema, {
        Gid: gid,
        TransType: "saga",
        TransOptions: { WaitResult: true },
        Steps: steps,
        BinPayloads: [GRPC_PAYLOAD, GRPC_PAYLOAD],
      });
      return new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(
          "/dtmgimp.Dtm/Submit",
          serializeDtmRequest,
          identity,
          request,
          { deadline: Date.now() + REQUEST_TIMEOUT_MS },
          (err: ServiceError | null) =>
            err ? reject(new Error(`gRPC ${err.code}: ${err.details}`)) : resolve(),
        );
      });
    };
  }

  /** The native SubmitSaga with JSON (the REST route and Connect's unary JSON share the message shape). */
  private native(job: LoadJob, path: string): Submit {
    const base = `${job.branchHttp}/api/busi_bench`;
    const steps = ["TransOut", "TransIn"].map((n) => ({
      action: `${base}/${n}`,
      compensate: `${base}/${n}Revert`,
      payload: PAYLOAD_BASE64,
    }));
    return async (gid) => {
      const body = JSON.stringify({ gid, saga: { steps }, options: { waitResult: true } });
      const text = await this.postJson(job, path, body);
      if (!text.includes("TRANSACTION_STATUS_SUCCEED"))
        throw new Error(`not succeeded: ${text.slice(0, 300)}`);
    };
  }
}
