import { invalidArgument } from "./errors";
import type { TransType } from "./model";
import { saga } from "./saga";
import type { TransTypeModule } from "./trans-type";

/** Every transaction kind this coordinator drives, by dtm's `trans_type`. */
const registry: Partial<Record<TransType, TransTypeModule>> = { saga };

/** The module of a kind; unknown kinds are bad input naming `field`. */
export function transTypeModule(transType: string, field = "trans_type"): TransTypeModule {
  const m = (registry as Record<string, TransTypeModule | undefined>)[transType];
  if (!m) throw invalidArgument(field, `unknown transaction type ${JSON.stringify(transType)}`);
  return m;
}
