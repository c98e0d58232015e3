import { Clock } from "../../src/core/clock";
import { Engine, type EngineSettings } from "../../src/core/engine";
import { defaultOptions, type NewTrans, type SagaStep, type TransOptions } from "../../src/core/model";
import type { KindRegistry } from "../../src/core/registry";
import type { PassWrite } from "../../src/core/repository";
import { createTopics, type Topics } from "../../src/core/topics";
import { createLogger } from "../../src/server/logger";
import { MemoryKvRepository } from "../../src/store/memory-kv-repository";
import { MemoryRepository } from "../../src/store/memory-repository";
import { ScriptedCaller } from "./scripted-caller";

/** An engine over the in-memory repository and a scripted caller: the core without database or network. */
export interface MemoryEngine {
  engine: Engine;
  repository: MemoryRepository;
  caller: ScriptedCaller;
  clock: Clock;
  /** Message topics over an in-memory key-value table (the engine fans `topic://` steps out with it). */
  topics: Topics;
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
  const settings = testSettings(opts.settings);
  const topics = createTopics({
    kv: new MemoryKvRepository(),
    clock,
    maxSubscribers: settings.maxSteps,
    maxPageSize: settings.maxPageSize,
  });
  const engine = new Engine({
    repository,
    caller,
    clock,
    settings,
    logger: createLogger(process.env.DTX_TEST_LOG ?? "silent"),
    kinds: opts.kinds,
    lookups: topics,
  });
  return { engine, repository, caller, clock, topics };
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

/** A message of steps (route names, or `topic://<name>`; payload `m<i>`), with options over the defaults. */
export function newMsg(
  gid: string,
  steps: string[],
  options: Partial<TransOptions> = {},
  layout: { concurrent?: boolean; delayMs?: number; queryPrepared?: string } = {},
): NewTrans {
  return {
    gid,
    protocol: "http",
    queryPrepared: layout.queryPrepared ?? rmUrl("QueryPrepared"),
    options: { ...defaultOptions(), ...options },
    definition: {
      kind: "msg",
      steps: steps.map((s, i) => ({
        action: s.startsWith("topic://") ? s : rmUrl(s),
        payload: Buffer.from(`m${i}`),
      })),
      concurrent: layout.concurrent,
      delayMs: layout.delayMs ?? 0,
    },
  };
}

/** Stored status and branch statuses (P/S/F in storage order). */
export async function storedVector(m: MemoryEngine, gid: string): Promise<[string | undefined, string[]]> {
  const found = await m.engine.get(gid);
  const letter = { prepared: "P", succeed: "S", failed: "F" } as const;
  return [found?.trans.status, (found?.branches ?? []).map((b) => letter[b.status])];
}

/** Records every pass write (status moves) the engine makes from now on. */
export function recordWrites(m: MemoryEngine): PassWrite[] {
  const writes: PassWrite[] = [];
  const save = m.repository.savePass.bind(m.repository);
  m.repository.savePass = (w) => {
    writes.push(w);
    return save(w);
  };
  return writes;
}
