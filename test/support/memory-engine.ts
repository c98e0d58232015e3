import { Clock } from "../../src/core/clock";
import { Engine, type EngineSettings } from "../../src/core/engine";
import { defaultOptions, type NewTrans, type SagaStep, type TransOptions } from "../../src/core/model";
import type { KindRegistry } from "../../src/core/registry";
import { createLogger } from "../../src/server/logger";
import { MemoryRepository } from "../../src/store/memory-repository";
import { ScriptedCaller } from "./scripted-caller";

/** An engine over the in-memory repository and a scripted caller: the core without database or network. */
export interface MemoryEngine {
  engine: Engine;
  repository: MemoryRepository;
  caller: ScriptedCaller;
  clock: Clock;
}

/** The server settings core unit tests run with (the coordinator's defaults). */
export function testSettings(over: Partial<EngineSettings> = {}): EngineSettings {
  return {
    retry: { intervalMs: 10_000, maxIntervalMs: 3_600_000 },
    requestTimeoutMs: 3000,
    timeoutToFailMs: 35_000,
    leaseMs: 10_000,
    maxSteps: 1000,
    maxGidLength: 128,
    maxPageSize: 1000,
    ...over,
  };
}

/** A fresh engine; `kinds` replaces the real registry (a test kind). */
export function memoryEngine(
  opts: { settings?: Partial<EngineSettings>; kinds?: KindRegistry } = {},
): MemoryEngine {
  const repository = new MemoryRepository();
  const caller = new ScriptedCaller();
  const clock = new Clock();
  const engine = new Engine({
    repository,
    caller,
    clock,
    settings: testSettings(opts.settings),
    logger: createLogger(process.env.DTX_TEST_LOG ?? "silent"),
    kinds: opts.kinds,
  });
  return { engine, repository, caller, clock };
}

/** The URL of a route of the (scripted) branch service: `http://rm/<name>`; "" stays "" (no call). */
export function rmUrl(name: string): string {
  return name === "" ? "" : `http://rm/${name}`;
}

/** A saga of steps `[action, compensate]` (route names, payload `p<i>`), with options over the defaults. */
export function newSaga(
  gid: string,
  steps: Array<[string, string]>,
  options: Partial<TransOptions> = {},
  layout: { concurrent?: boolean; orders?: Map<number, number[]> } = {},
): NewTrans {
  return {
    gid,
    protocol: "http",
    queryPrepared: "",
    options: { ...defaultOptions(), ...options },
    definition: {
      kind: "saga",
      steps: steps.map(([action, compensate], i): SagaStep => ({
        action: rmUrl(action),
        compensate: rmUrl(compensate),
        payload: Buffer.from(`p${i}`),
      })),
      concurrent: layout.concurrent,
      orders: layout.orders ?? new Map(),
    },
  };
}
