import { randomUUID } from "node:crypto";
import { toMillis, type Duration } from "./duration";
import { GrpcChannels } from "./grpc-channels";
import { GrpcCoordinator } from "./grpc-coordinator";
import { HttpCoordinator } from "./http-coordinator";
import type { TransOptions } from "./options";
import type { BranchContext } from "./branch-context";
import { Msg, type MsgOptions } from "./msg";
import { Saga, type SagaOptions } from "./saga";
import { runTcc, Tcc, type TccResult } from "./tcc";
import type { CoordinatorTransport } from "./wire";
import { runXa, Xa, type XaResult } from "./xa";
import { Workflows } from "./workflows";

/**
 * How the SDK talks to the coordinator.
 *
 * @example
 * Coordinator.http("http://localhost:36789", { timeout: "1m" });
 */
export interface CoordinatorOptions {
  /**
   * How long one request to the coordinator may take. Default 30 s (a `waitResult` submit lasts as
   * long as the coordinator's pass over the transaction).
   */
  timeout?: Duration;
  /** How long a branch call the SDK makes itself (a TCC try, a message check-back) may take. Default 10 s. */
  branchTimeout?: Duration;
}

/**
 * A connection to a dtx (or dtm) coordinator, over dtm's HTTP routes or its gRPC service
 * `dtmgimp.Dtm`; the factory of sagas, TCC transactions and messages. Close it when done (it keeps
 * gRPC channels open).
 *
 * @example
 * const dtx = Coordinator.http("http://localhost:36789"); // or Coordinator.grpc("localhost:36790")
 * await dtx.saga().add(action, compensate, payload).submit();
 * await dtx.close();
 */
export class Coordinator {
  /** @internal the lifecycle verbs over the chosen transport */
  readonly transport: CoordinatorTransport;
  /** @internal gRPC channels: to the coordinator and to the branches the SDK calls itself */
  readonly channels = new GrpcChannels();
  /** @internal */
  readonly branchTimeoutMs: number;

  private constructor(
    make: (channels: GrpcChannels, timeoutMs: number) => CoordinatorTransport,
    o: CoordinatorOptions,
  ) {
    this.transport = make(this.channels, toMillis(o.timeout ?? "30s", "timeout"));
    this.branchTimeoutMs = toMillis(o.branchTimeout ?? "10s", "branchTimeout");
  }

  /**
   * Talks to dtm's HTTP routes: `url` is the coordinator's address (`http://host:36789`) or the base
   * of its routes (`http://host:36789/api/dtmsvr`).
   *
   * @example
   * const dtx = Coordinator.http("http://localhost:36789");
   */
  static http(url: string, options: CoordinatorOptions = {}): Coordinator {
    return new Coordinator((_, timeoutMs) => new HttpCoordinator(url, timeoutMs), options);
  }

  /**
   * Talks to dtm's gRPC service at `target` (`host:port`, plaintext).
   *
   * @example
   * const dtx = Coordinator.grpc("localhost:36790");
   */
  static grpc(target: string, options: CoordinatorOptions = {}): Coordinator {
    const t = target.replace(/^(grpc|http):\/\//, "").replace(/\/+$/, "");
    return new Coordinator((channels, timeoutMs) => new GrpcCoordinator(t, channels, timeoutMs), options);
  }

  /**
   * HTTP for an `http(s)://` address, gRPC for `host:port`: what a branch receives as `dtm`.
   *
   * @example
   * const dtx = Coordinator.connect(ctx.dtm);
   */
  static connect(address: string, options: CoordinatorOptions = {}): Coordinator {
    return /^https?:\/\//.test(address)
      ? Coordinator.http(address, options)
      : Coordinator.grpc(address, options);
  }

  /** `http` or `grpc`. @example if (dtx.protocol === "grpc") … */
  get protocol(): "http" | "grpc" {
    return this.transport.protocol;
  }

  /** The coordinator's address as branches receive it in `dtm`. @example console.log(dtx.address) */
  get address(): string {
    return this.transport.address;
  }

  /**
   * A fresh gid from the coordinator (the SDK also makes its own when none is given).
   *
   * @example
   * const gid = await dtx.newGid();
   */
  newGid(): Promise<string> {
    return this.transport.newGid();
  }

  /**
   * A new saga.
   *
   * @example
   * await dtx.saga({ waitResult: true }).add(out, outRevert, p1).add(in_, inRevert, p2).submit();
   */
  saga(options: SagaOptions = {}): Saga {
    return new Saga(this, options);
  }

  /**
   * Runs a TCC global transaction: prepares it, runs `fn` (which calls the branches: each is
   * registered, then its try is called), and submits it — the coordinator then confirms every
   * branch. When `fn` throws, the transaction is aborted (the coordinator cancels every registered
   * branch) and `fn`'s error is rethrown.
   *
   * @example
   * const { gid } = await dtx.tcc(async (tcc) => {
   *   await tcc.callBranch({ try: `${bank}/TransOutTry`, confirm: `${bank}/TransOutConfirm`, cancel: `${bank}/TransOutCancel`, payload: out });
   *   await tcc.callBranch({ try: `${bank}/TransInTry`, confirm: `${bank}/TransInConfirm`, cancel: `${bank}/TransInCancel`, payload: in_ });
   * }, { waitResult: true });
   */
  tcc<T>(fn: (tcc: Tcc) => Promise<T>, options: TransOptions = {}): Promise<TccResult<T>> {
    return runTcc(this, fn, options);
  }

  /**
   * The TCC transaction a try belongs to, for adding nested branches from inside the try (their
   * ids extend the try's branch id: `01` → `0101`, `0102`, …).
   *
   * @example
   * // in the try handler of branch 02
   * await dtx.tccFrom(call.ctx).callBranch({ try: …, confirm: …, cancel: …, payload });
   */
  tccFrom(ctx: BranchContext): Tcc {
    if (!ctx.gid || !ctx.branchId) throw new TypeError("tccFrom: the branch call lacks gid or branch_id");
    return new Tcc(this, ctx.gid, ctx.branchId, {});
  }

  /**
   * Runs an XA global transaction: prepares it, runs `fn` (which calls each resource manager's XA
   * action: it prepares its local transaction and registers its branch), and submits it — the
   * coordinator then commits every branch. When `fn` throws, the transaction is aborted (the
   * coordinator rolls back every registered branch) and `fn`'s error is rethrown.
   *
   * @example
   * const { gid } = await dtx.xa(async (xa) => {
   *   await xa.callBranch(`${bank}/XaTransOut`, { user: "alice", amount: 30 });
   *   await xa.callBranch(`${bank}/XaTransIn`, { user: "bob", amount: 30 });
   * }, { waitResult: true });
   */
  xa<T>(fn: (xa: Xa) => Promise<T>, options: TransOptions = {}): Promise<XaResult<T>> {
    return runXa(this, fn, options);
  }

  /**
   * Code-first workflows run through this coordinator (HTTP), resumed at `callback` (an HTTP route
   * served with {@link Workflows.resumeHandler}).
   *
   * @example
   * const workflows = dtx.workflows("http://127.0.0.1:8081/api/workflow/resume");
   */
  workflows(callback: string): Workflows {
    return new Workflows(this, callback);
  }

  /**
   * A new 2-phase message.
   *
   * @example
   * await dtx.msg().add(`${bank}/TransIn`, { user: "bob", amount: 30 }).submit();
   */
  msg(options: MsgOptions = {}): Msg {
    return new Msg(this, options);
  }

  /**
   * Closes the gRPC channels. Transactions already submitted are the coordinator's to finish.
   *
   * @example
   * await dtx.close();
   */
  close(): Promise<void> {
    return Promise.all([this.transport.close(), this.channels.close()]).then(() => undefined);
  }

  /** @internal the `gid` option, else a fresh id */
  gidOf(options: TransOptions): string {
    if (options.gid === undefined) return randomUUID();
    if (typeof options.gid !== "string" || options.gid === "")
      throw new TypeError("gid: must be a non-empty string");
    return options.gid;
  }
}
