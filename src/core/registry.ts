import { invalidField, type FieldPath } from "./errors";
import type { TransSettings, TransType } from "./model";
import { msg } from "./msg";
import { saga } from "./saga";
import { tcc } from "./tcc";
import type { TransKind } from "./trans-kind";
import { workflow } from "./workflow";
import { xa } from "./xa";

/** Transaction kinds by dtm's `trans_type`. */
export type KindRegistry = Partial<Record<TransType, TransKind>>;

/** Every transaction kind this coordinator drives. */
export const kinds: KindRegistry = { saga, tcc, xa, msg, workflow };

/** The module of a kind; an unknown kind is bad input at `path`. */
export function kindOf(
  registry: KindRegistry,
  transType: string,
  path: FieldPath = ["trans_type"],
): TransKind {
  const kind = Object.hasOwn(registry, transType) ? registry[transType as TransType] : undefined;
  if (!kind) throw unknownKind(transType, path);
  return kind;
}

/** The error for a `trans_type` no kind answers to. */
export function unknownKind(transType: string, path: FieldPath = ["trans_type"]): Error {
  return invalidField(path, `unknown transaction type ${JSON.stringify(transType)}`);
}

/** A stored transaction's settings as its kind encodes them for the store. */
export function encodeSettings(settings: TransSettings): string {
  return kinds[settings.kind]?.encodeSettings(settings) ?? "";
}

/** A stored settings text decoded by its kind (a kind this version does not drive keeps none). */
export function decodeSettings(transType: string, text: string): TransSettings {
  const kind = Object.hasOwn(kinds, transType) ? kinds[transType as TransType] : undefined;
  return kind ? kind.decodeSettings(text) : ({ kind: transType } as TransSettings);
}
