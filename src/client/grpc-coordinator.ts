import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { DtmBranchRequestSchema, DtmGidReplySchema, DtmRequestSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import { CoordinatorError } from "./errors";
import type { GrpcChannels } from "./grpc-channels";
import { grpcVerdict } from "./verdict";
import type { CoordinatorTransport, RegisterRequest, TransRequest } from "./wire";

const SERVICE = "/dtmgimp.Dtm/";

/**
 * dtm's gRPC service `dtmgimp.Dtm`: binary payloads, durations in seconds. A gRPC-submitted
 * transaction has the protocol `grpc` (its http(s) branch URLs are still called over HTTP).
 */
export class GrpcCoordinator implements CoordinatorTransport {
  readonly protocol = "grpc";

  constructor(
    /** `host:port` of the coordinator. */
    readonly address: string,
    private readonly channels: GrpcChannels,
    private readonly timeoutMs: number,
  ) {}

  async newGid(): Promise<string> {
    const reply = await this.send("NewGid", "", toBinary(EmptySchema, create(EmptySchema)));
    return fromBinary(DtmGidReplySchema, reply).Gid;
  }

  async call(operation: "prepare" | "submit" | "abort", t: TransRequest): Promise<void> {
    if (t.concurrent) {
      throw new TypeError(
        "concurrent: dtm's gRPC protocol cannot carry a message's concurrency (use the HTTP coordinator)",
      );
    }
    const o = t.options;
    const request = create(DtmRequestSchema, {
      Gid: t.gid,
      TransType: t.transType,
      TransOptions: {
        WaitResult: o.waitResult ?? false,
        TimeoutToFail: BigInt(o.timeoutToFail ?? 0),
        RetryInterval: BigInt(o.retryInterval ?? 0),
        RequestTimeout: BigInt(o.requestTimeout ?? 0),
        RetryLimit: BigInt(o.retryLimit ?? 0),
        BranchHeaders: o.branchHeaders ?? {},
      },
      CustomedData: t.customData ?? "",
      BinPayloads: t.payloads ?? [],
      QueryPrepared: t.queryPrepared ?? "",
      Steps: t.steps ? JSON.stringify(t.steps) : "",
      RollbackReason: t.rollbackReason ?? "",
      ReqExtra: t.reqExtra ?? {},
    });
    const method = operation[0]!.toUpperCase() + operation.slice(1);
    await this.send(method, t.gid, toBinary(DtmRequestSchema, request));
  }

  async registerBranch(r: RegisterRequest): Promise<void> {
    const request = create(DtmBranchRequestSchema, {
      Gid: r.gid,
      TransType: r.transType,
      BranchID: r.branchId,
      Data: r.data,
      BusiPayload: r.payload,
    });
    await this.send("RegisterBranch", r.gid, toBinary(DtmBranchRequestSchema, request));
  }

  /** Workflows run over HTTP: their resume callback is an HTTP route the SDK serves. */
  async prepareWorkflow(t: TransRequest): Promise<never> {
    throw new TypeError(
      `workflow ${t.gid}: workflows need an HTTP coordinator (Coordinator.http): the SDK serves their resume callback over HTTP`,
    );
  }

  /** The channels belong to the Coordinator, which closes them. */
  async close(): Promise<void> {}

  private async send(method: string, gid: string, message: Uint8Array): Promise<Uint8Array> {
    const answer = await this.channels.call(this.address, SERVICE + method, message, {}, this.timeoutMs);
    if (answer.ok) return answer.reply;
    const operation = method[0]!.toLowerCase() + method.slice(1);
    throw new CoordinatorError(
      operation,
      gid,
      answer.code,
      grpcVerdict(answer.code, answer.message),
      answer.message,
    );
  }
}
