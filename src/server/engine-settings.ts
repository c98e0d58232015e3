import type { EngineSettings } from "../core/engine";
import { TargetPolicy } from "../core/target-policy";
import type { Config } from "./config";

/** The engine's settings as the configuration gives them (every duration in ms). */
export function engineSettings(config: Config): EngineSettings {
  return {
    retry: { intervalMs: config.retry.interval, maxIntervalMs: config.retry.maxInterval },
    requestTimeoutMs: config.branch.requestTimeout,
    timeoutToFailMs: config.timeoutToFail,
    leaseMs: config.recovery.lease,
    maxSteps: config.limits.maxSteps,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    admission: {
      maxInFlight: config.admission.maxInFlight,
      maxQueued: config.admission.maxQueued,
      maxWaitMs: config.admission.maxWait,
    },
    maxGidLength: config.limits.maxGidLength,
    maxPageSize: config.limits.maxPageSize,
    alertRetryLimit: config.alert.retryLimit,
    targets:
      config.branch.allowedTargets.length > 0 ? new TargetPolicy(config.branch.allowedTargets) : undefined,
  };
}
