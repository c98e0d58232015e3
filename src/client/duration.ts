/**
 * A duration given to the SDK: milliseconds as a number, or text with a unit.
 *
 * @example
 * const a: Duration = 1500; // 1.5 s
 * const b: Duration = "30s";
 * const c: Duration = "2m";
 */
export type Duration = number | `${number}${"ms" | "s" | "m" | "h"}`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds; `option` names the option in the error.
 *
 * @example
 * toMillis("2m", "timeoutToFail"); // 120000
 * @throws TypeError naming `option` when `value` is not a non-negative duration
 */
export function toMillis(value: Duration, option: string): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (m) return Number(m[1]) * UNITS[m[2]!]!;
  }
  throw new TypeError(
    `${option}: ${JSON.stringify(value)} is not a duration (milliseconds, or "500ms", "10s", "2m", "1h")`,
  );
}

/**
 * A duration in whole seconds, as dtm's protocol carries them. A value that is not a whole number of
 * seconds is refused rather than rounded: a request timeout of 500 ms silently becoming 1 s would
 * mislead.
 *
 * @example
 * toSeconds("1m", "retryInterval"); // 60
 * @throws TypeError naming `option` when `value` is not a whole number of seconds
 */
export function toSeconds(value: Duration, option: string): number {
  const ms = toMillis(value, option);
  if (ms % 1000 !== 0) {
    throw new TypeError(
      `${option}: ${JSON.stringify(value)} is not a whole number of seconds (dtm's protocol carries seconds)`,
    );
  }
  return ms / 1000;
}
