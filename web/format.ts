/** How the page shows times, enum values and payloads. */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { BranchOutcome, BranchStatus, TransactionKind, TransactionStatus } from "../gen/dtx/v1/types_pb";

export const statusName = (s: TransactionStatus): string => (TransactionStatus[s] ?? String(s)).toLowerCase();
export const kindName = (k: TransactionKind): string => (TransactionKind[k] ?? String(k)).toLowerCase();
export const branchStatusName = (s: BranchStatus): string => (BranchStatus[s] ?? String(s)).toLowerCase();
export const outcomeName = (o: BranchOutcome): string => BranchOutcome[o] ?? String(o);

export function isFinished(s: TransactionStatus): boolean {
  return s === TransactionStatus.SUCCEED || s === TransactionStatus.FAILED;
}

/** `2026-12-02 15:01:02` in the browser's zone; "—" when absent. */
export function time(t: Timestamp | undefined): string {
  if (!t) return "—";
  const d = timestampDate(t);
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** How far a time is from now: `in 20s`, `3m ago`. */
export function relative(t: Timestamp | undefined): string {
  if (!t) return "";
  const ms = timestampDate(t).getTime() - Date.now();
  const abs = Math.abs(ms);
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)}m`
        : `${Math.round(abs / 3_600_000)}h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** A payload as text: pretty-printed JSON when it is JSON, else UTF-8, else base64. */
export function payloadText(bytes: Uint8Array): string {
  if (bytes.length === 0) return "(empty)";
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return `base64: ${btoa(String.fromCharCode(...bytes))}`;
  }
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
