import { fieldErrorOf, invalidField } from "./errors";
import type {
  MsgDefinition,
  MsgLayout,
  MsgSettings,
  NewBranch,
  NewTrans,
  TransDefinition,
  TransRecord,
  TransSettings,
} from "./model";
import type { CreatingVerb, Limits, ResolveContext } from "./trans-kind";
import { MAX_TIMEOUT_MS } from "./options-check";
import { checkJsonRpcPayload, checkBranchUrl } from "./url-check";

/** The scheme of a step that is delivered to every subscriber of a topic. */
export const TOPIC_SCHEME = "topic://";

/** The longest topic name (the store's kv key). */
export const MAX_TOPIC_LENGTH = 128;

/** The topic a step URL names, or null when it is a plain URL. */
export function topicOf(action: string): string | null {
  return action.startsWith(TOPIC_SCHEME) ? action.slice(TOPIC_SCHEME.length) : null;
}

/** A definition the registry handed the msg kind (anything else is a wiring bug). */
export function msgDefinition(d: TransDefinition): MsgDefinition {
  if (d.kind !== "msg") throw new Error(`a ${d.kind} definition reached the msg kind`);
  return d;
}

/** Message settings (anything else is a wiring bug). */
export function msgSettings(s: TransSettings): MsgSettings {
  if (s.kind !== "msg") throw new Error(`${s.kind} settings read as a message's`);
  return s;
}

/** The settings of a stored message. */
export function msgSettingsOf(t: TransRecord): MsgSettings {
  return msgSettings(t.settings);
}

/**
 * Checks a new message: its steps (URLs, or `topic://<name>`), its delay, and — to prepare it — the
 * check-back URL, without which a prepared message could never be decided.
 */
export function validateMsg(t: NewTrans, limits: Limits, verb: CreatingVerb): void {
  const { steps, delayMs } = msgDefinition(t.definition);
  if (steps.length === 0) throw invalidField(["steps"], "a message needs at least one step");
  if (steps.length > limits.maxSteps) throw invalidField(["steps"], `at most ${limits.maxSteps} steps`);
  steps.forEach((step, i) => {
    const path = ["steps", i, "action"];
    const topic = topicOf(step.action);
    if (topic === null) {
      // a missing URL is an empty one, as in dtm: nothing to call, counts as delivered
      if (step.action === "") return;
      checkBranchUrl(step.action, t.protocol, path);
      checkJsonRpcPayload(t.protocol, step.action, step.payload, ["payloads", i]);
    } else if (topic === "") throw invalidField(path, "names no topic");
    else if (topic.length > MAX_TOPIC_LENGTH)
      throw invalidField(path, `names a topic longer than ${MAX_TOPIC_LENGTH} characters`);
  });
  if (!Number.isSafeInteger(delayMs) || delayMs < 0) throw invalidField(["delay"], "must not be negative");
  if (delayMs > MAX_TIMEOUT_MS)
    throw invalidField(["delay"], `must be at most ${MAX_TIMEOUT_MS / 1000} seconds`);
  if (t.queryPrepared !== "") checkBranchUrl(t.queryPrepared, t.protocol, ["query_prepared"]);
  else if (verb === "prepare") {
    throw invalidField(
      ["query_prepared"],
      "is required to prepare a message: it is asked whether to send it",
    );
  }
}

/**
 * The definition with every `topic://` step's current subscribers; an unknown topic, or one nobody
 * subscribes to, is bad input (nothing is written). The fan-out counts against the step limit.
 */
export async function resolveMsg(t: NewTrans, ctx: ResolveContext, limits: Limits): Promise<MsgDefinition> {
  const d = msgDefinition(t.definition);
  let rows = 0;
  const steps = await Promise.all(
    d.steps.map(async (step, i) => {
      const topic = topicOf(step.action);
      if (topic === null) return step;
      const path = ["steps", i, "action"];
      const subscribers = await ctx.topicSubscribers(topic);
      if (subscribers === null || subscribers.length === 0) {
        throw invalidField(path, `topic not found: ${JSON.stringify(topic)} has no subscribers`);
      }
      for (const url of subscribers) {
        try {
          checkBranchUrl(url, t.protocol, path);
        } catch (err) {
          const problem = fieldErrorOf(err)?.problem ?? String(err);
          throw invalidField(path, `topic ${JSON.stringify(topic)}: subscriber ${problem}`);
        }
        checkJsonRpcPayload(t.protocol, url, step.payload, ["payloads", i]);
      }
      return { ...step, subscribers };
    }),
  );
  for (const step of steps) rows += step.subscribers?.length ?? 1;
  if (rows > limits.maxSteps) {
    throw invalidField(["steps"], `fan out to ${rows} branches, at most ${limits.maxSteps}`);
  }
  return { ...d, steps };
}

/** Branch id of step i (0-based), and of its j-th subscriber when a topic fans out: `01`, `01-02`. */
function branchId(i: number, j?: number): string {
  const id = String(i + 1).padStart(2, "0");
  return j === undefined ? id : `${id}-${String(j + 1).padStart(2, "0")}`;
}

/**
 * The stored rows of a message: one `action` row per step, or per subscriber of a topic step (a
 * topic with a single subscriber keeps the step's plain branch id, as dtm does).
 */
export function msgBranches(d: TransDefinition): NewBranch[] {
  return msgDefinition(d).steps.flatMap((step, i): NewBranch[] => {
    const targets = topicOf(step.action) === null ? [step.action] : step.subscribers;
    if (!targets) throw new Error(`topic step ${i} reached the rows unresolved`);
    return targets.map((url, j) => ({
      branchId: branchId(i, targets.length > 1 ? j : undefined),
      op: "action",
      url,
      payload: step.payload,
    }));
  });
}

/**
 * A message's settings as the store's column text, `{"concurrent":true,"delay_ms":10000}` (only what
 * is set); the empty text when nothing is.
 */
export function msgSettingsText(s: MsgLayout): string {
  const out: { concurrent?: boolean; delay_ms?: number } = {};
  if (s.concurrent !== undefined) out.concurrent = s.concurrent;
  if (s.delayMs > 0) out.delay_ms = s.delayMs;
  return Object.keys(out).length === 0 ? "" : JSON.stringify(out);
}

/** The inverse of `msgSettingsText`; a row that cannot be read is delivered at once, sequentially. */
export function parseMsgSettings(text: string): MsgSettings {
  const settings: MsgSettings = { kind: "msg", delayMs: 0 };
  if (text.trim() === "") return settings;
  try {
    const parsed = JSON.parse(text) as { concurrent?: unknown; delay_ms?: unknown };
    if (typeof parsed.concurrent === "boolean") settings.concurrent = parsed.concurrent;
    if (Number.isSafeInteger(parsed.delay_ms) && (parsed.delay_ms as number) > 0) {
      settings.delayMs = parsed.delay_ms as number;
    }
  } catch {
    // rows are validated before they are stored; a hand-edited one keeps the defaults
  }
  return settings;
}
