import type { Logger } from "pino";
import { TransportCaller } from "../branch/transport-caller";
import type { BranchCaller } from "../core/branch-caller";
import type { Clock } from "../core/clock";
import { Engine } from "../core/engine";
import { createTopics, type Topics } from "../core/topics";
import { PgKvRepository } from "../store/pg-kv-repository";
import { PgRepository } from "../store/pg-repository";
import type { Store } from "../store/store";
import { AlertWebhook } from "./alert-webhook";
import type { Config } from "./config";
import { engineSettings } from "./engine-settings";
import type { Observability } from "./observability";

/** An engine over a store and what it owns besides the store (closed by `closeEngineParts`). */
export interface EngineParts {
  engine: Engine;
  repository: PgRepository;
  topics: Topics;
  caller: TransportCaller;
  alerts: AlertWebhook | null;
}

/** What differs between the engines of a coordinator's threads. */
export interface EngineSetupOptions {
  /** Wraps the observed branch caller (an embedder's or a test's wrapper). */
  wrapCaller?: (caller: BranchCaller) => BranchCaller;
  /** The coordinator id and owner-token tag of the engine's passes (driver.ts); absent: a fresh id. */
  identity?: { coordinatorId: string; tag: string };
}

/**
 * The engine of one thread of a coordinator, as the configuration sets it up: the repository with its
 * group commit, the network branch caller with its metrics and spans, the topics, the alert webhook.
 * The main thread's engine serves the API; the recovery thread's (recovery-thread.ts) runs the
 * recovery worker's passes.
 */
export function setupEngine(
  config: Config,
  store: Store,
  clock: Clock,
  observed: Observability,
  logger: Logger,
  opts: EngineSetupOptions = {},
): EngineParts {
  const repository = new PgRepository(
    store,
    {
      maxInFlight: Math.max(1, Math.floor(store.connections / 4)),
      maxBatch: 128,
      gatherTick: true,
      onBatch: observed.onBatch,
    },
    observed.statusChanged,
  );
  const caller = new TransportCaller();
  const topics = createTopics({
    kv: new PgKvRepository(store),
    clock,
    maxSubscribers: config.limits.maxSteps,
    maxPageSize: config.limits.maxPageSize,
  });
  const alerts = config.alert.webhook
    ? new AlertWebhook(config.alert.webhook, config.branch.requestTimeout, logger)
    : null;
  const observedCaller = observed.wrapCaller(caller);
  const engine = new Engine({
    repository,
    caller: opts.wrapCaller?.(observedCaller) ?? observedCaller,
    clock,
    settings: { ...engineSettings(config), identity: opts.identity },
    logger,
    lookups: topics,
    alerts: alerts?.send,
    observer: observed.passes,
  });
  return { engine, repository, topics, caller, alerts };
}

/** Stops the engine's passes (within `shutdownTimeout`), then closes its alert webhook and branch channels. */
export async function closeEngineParts(parts: EngineParts, shutdownTimeoutMs: number): Promise<void> {
  await parts.engine.close(shutdownTimeoutMs);
  await parts.alerts?.close();
  await parts.caller.close();
}
