import { invalidField } from "./errors";
import { checkGid } from "./gid-check";
import type { NewTrans, TransRecord } from "./model";
import { checkOptions } from "./options-check";
import { kindOf, type KindRegistry } from "./registry";
import type { CreatingVerb, ResolveContext, TransKind } from "./trans-kind";

/** What checking and resolving a new transaction needs. */
export interface CreationContext {
  kinds: KindRegistry;
  maxGidLength: number;
  maxSteps: number;
  /** What kinds look up while a transaction is created (msg topics). */
  lookups: ResolveContext;
  /** The stored transaction of a gid, or null. */
  find(gid: string): Promise<TransRecord | null>;
}

/** Lookups that find nothing: no topic exists. */
export const NO_LOOKUPS: ResolveContext = { topicSubscribers: async () => null };

/** Checks a new transaction from any adapter, and that `verb` may create its kind; its kind. */
export function checkedKind(ctx: CreationContext, t: NewTrans, verb: CreatingVerb): TransKind {
  checkGid(t.gid, ctx.maxGidLength);
  const kind = kindOf(ctx.kinds, t.definition.kind);
  if (!kind.lifecycle[verb]) {
    const how = verb === "prepare" ? "cannot prepare" : "cannot be submitted";
    throw invalidField(["trans_type"], `trans type: '${t.definition.kind}' ${how}`);
  }
  checkOptions(t.options, t.protocol);
  kind.validate(t, { maxSteps: ctx.maxSteps }, verb);
  return kind;
}

/**
 * The transaction with what its definition refers to looked up (msg topics). Null when that fails
 * for a gid that is stored already: its stored rows are what counts then (a submit of a prepared
 * message whose topic was deleted since still delivers to the subscribers it was prepared with).
 */
export async function resolvedTrans(
  ctx: CreationContext,
  kind: TransKind,
  t: NewTrans,
): Promise<NewTrans | null> {
  if (!kind.resolve) return t;
  try {
    return { ...t, definition: await kind.resolve(t, ctx.lookups, { maxSteps: ctx.maxSteps }) };
  } catch (err) {
    if (await ctx.find(t.gid)) return null;
    throw err;
  }
}
