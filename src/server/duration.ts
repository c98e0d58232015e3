/**
 * Durations in configuration: human text (`500ms`, `10s`, `1h30m`) in, milliseconds out.
 *
 * dtx keeps every duration in milliseconds internally (dtm's seconds appear only at the dtm-compatible edge),
 * so this is the one place that knows about units.
 */

/**
 * A configuration value that cannot be used. The message always names the offending key so an operator can
 * fix the file or the environment variable without reading code.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A whole duration: one or more `<number><unit>` parts, e.g. `1h30m`, `1.5s`, `250ms`. */
const DURATION_RE = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ms|s|m|h|d))+$/;
/** One part of a duration; `ms` is listed before `m` so `500ms` is not read as `500m` + `s`. */
const PART_RE = /(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d)/g;
/** A bare number: milliseconds. */
const NUMBER_RE = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

const HINT = "(use 500ms, 10s, 2m, 1h)";

/**
 * Parses a duration into milliseconds (rounded to a whole millisecond).
 *
 * Accepts `500ms`, `10s`, `1.5s`, `2m`, `1h`, `1h30m`, `30d`, and a bare number (as a number or as text) meaning
 * milliseconds. Negative values are rejected; whether zero is acceptable is the caller's decision.
 *
 * @param text the value as written in YAML, an environment variable or code
 * @param key the configuration key, used in the error message
 * @throws ConfigError naming `key` when `text` is not a duration
 */
export function parseDuration(text: string | number, key: string): number {
  if (typeof text === "number") {
    if (Number.isFinite(text) && text >= 0) return Math.round(text);
    throw new ConfigError(`config ${key}: ${text} is not a duration ${HINT}`);
  }
  if (typeof text !== "string") {
    // YAML and hand-written overrides can smuggle in other types despite the signature.
    throw new ConfigError(`config ${key}: ${JSON.stringify(text)} is not a duration ${HINT}`);
  }
  const s = text.trim();
  if (NUMBER_RE.test(s)) return Math.round(Number(s));
  if (!DURATION_RE.test(s)) {
    throw new ConfigError(`config ${key}: ${JSON.stringify(text)} is not a duration ${HINT}`);
  }
  let ms = 0;
  for (const [, amount, unit] of s.matchAll(PART_RE)) ms += Number(amount) * UNIT_MS[unit];
  if (!Number.isFinite(ms)) {
    throw new ConfigError(`config ${key}: ${JSON.stringify(text)} is too large a duration`);
  }
  return Math.round(ms);
}

/**
 * Formats milliseconds compactly for messages and logs: `0ms`, `250ms`, `1.5s`, `10s`, `2m`, `1h30m`,
 * `1h5s`. The output parses back to the same value with {@link parseDuration} (for non-negative input).
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 0) return `-${formatDuration(-ms)}`;
  let rest = Math.round(ms);
  if (rest < 1_000) return `${rest}ms`;
  const h = Math.floor(rest / UNIT_MS.h);
  rest -= h * UNIT_MS.h;
  const m = Math.floor(rest / UNIT_MS.m);
  rest -= m * UNIT_MS.m;
  let out = "";
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (rest > 0) out += `${rest / 1_000}s`;
  return out;
}
