/**
 * dtx's TypeScript SDK: sagas, TCC, XA on Postgres, workflows and 2-phase messages over dtm's HTTP or gRPC protocol, the
 * sub-transaction barrier on Postgres (and PGlite), and helpers that turn a business function into a
 * branch handler for `node:http` or a Connect service. It needs nothing of the coordinator's code.
 *
 * @example
 * import { Coordinator } from "dtx/client";
 * const dtx = Coordinator.http("http://localhost:36789");
 * await dtx
 *   .saga({ waitResult: true })
 *   .add(`${bank}/TransOut`, `${bank}/TransOutRevert`, { user: "alice", amount: 30 })
 *   .add(`${bank}/TransIn`, `${bank}/TransInRevert`, { user: "bob", amount: 30 })
 *   .submit();
 */
export { Coordinator, type CoordinatorOptions } from "./coordinator";
export { Saga, type SagaOptions, type StepOptions, type StepRef } from "./saga";
export { Tcc, type TccBranch, type TccResult } from "./tcc";
export { Xa, type XaResult } from "./xa";
export { XaResource, type XaResourceOptions } from "./xa-resource";
export { Workflows, type WorkflowFunction, type WorkflowOptions } from "./workflows";
export { Workflow, type WorkflowPhase2 } from "./workflow";
export { Msg, type MsgOptions } from "./msg";
export type { TransOptions } from "./options";
export type { Duration } from "./duration";
export type { Payload, JsonValue } from "./payload";
export type { BranchReply } from "./branch-call";
export {
  BranchFailure,
  BranchOngoing,
  BranchCallError,
  CoordinatorError,
  Duplicated,
  isBranchFailure,
  isBranchOngoing,
  isBranchCallError,
  isCoordinatorError,
  isDuplicated,
} from "./errors";
export { Barrier, createBarrierTables, DEFAULT_BARRIER_TABLE, type BarrierOptions } from "./barrier";
export { branchContextFromQuery, branchContextFromMetadata, type BranchContext } from "./branch-context";
export {
  httpBranch,
  httpBranchRoutes,
  httpQueryPrepared,
  type HttpBranchCall,
  type HttpBranchFunction,
  type HttpBranchOptions,
} from "./http-branch";
export { connectBranch, connectQueryPrepared, type ConnectBranchCall } from "./connect-branch";
