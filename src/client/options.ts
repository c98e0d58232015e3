import { toSeconds, type Duration } from "./duration";

/**
 * Options every global transaction takes. Durations are milliseconds or text with a unit (`"30s"`);
 * dtm's protocol carries whole seconds, so other values are refused with an error naming the option.
 *
 * @example
 * const options: TransOptions = { waitResult: true, timeoutToFail: "1m", branchHeaders: { "x-tenant": "7" } };
 */
export interface TransOptions {
  /** The global transaction id; default: a fresh random id. */
  gid?: string;
  /**
   * Answer after the coordinator's first pass over the transaction instead of right after storing it:
   * `submit` then throws a {@link CoordinatorError} when the transaction did not succeed in that pass.
   * Default false.
   */
  waitResult?: boolean;
  /**
   * How long the transaction may take before the coordinator gives up: a saga is compensated, a
   * prepared TCC cancelled, a prepared message checked back. Default: the coordinator's (a saga: never).
   */
  timeoutToFail?: Duration;
  /** The timeout of one branch call by the coordinator. Default: the coordinator's (3 s). */
  requestTimeout?: Duration;
  /** The base interval between retries of a branch. Default: the coordinator's (10 s). */
  retryInterval?: Duration;
  /** HTTP headers (gRPC metadata) the coordinator sends with every branch call, and the SDK with a try. */
  branchHeaders?: Record<string, string>;
}

/** The options as dtm's protocol carries them (seconds; unset ones left out). */
export interface WireOptions {
  waitResult?: boolean;
  timeoutToFail?: number;
  requestTimeout?: number;
  retryInterval?: number;
  retryLimit?: number;
  branchHeaders?: Record<string, string>;
}

/**
 * Converts and checks the options (durations to seconds); errors name the option.
 *
 * @example
 * wireOptions({ timeoutToFail: "2m" }); // { timeoutToFail: 120 }
 */
export function wireOptions(o: TransOptions & { retryLimit?: number }): WireOptions {
  const w: WireOptions = {};
  if (o.waitResult) w.waitResult = true;
  if (o.timeoutToFail !== undefined) w.timeoutToFail = toSeconds(o.timeoutToFail, "timeoutToFail");
  if (o.requestTimeout !== undefined) w.requestTimeout = toSeconds(o.requestTimeout, "requestTimeout");
  if (o.retryInterval !== undefined) w.retryInterval = toSeconds(o.retryInterval, "retryInterval");
  if (o.retryLimit !== undefined) {
    if (!Number.isInteger(o.retryLimit) || o.retryLimit < 0) {
      throw new TypeError(`retryLimit: ${o.retryLimit} is not a non-negative integer`);
    }
    w.retryLimit = o.retryLimit;
  }
  if (o.branchHeaders && Object.keys(o.branchHeaders).length > 0) w.branchHeaders = { ...o.branchHeaders };
  return w;
}
