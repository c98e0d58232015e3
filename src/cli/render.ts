/**
 * What `dtx list` and `dtx show` print at a terminal: aligned tables of transactions and branches, the
 * proto enums without their prefixes (`TRANSACTION_STATUS_SUBMITTED` → `submitted`).
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  BranchOutcome,
  BranchStatus,
  TransactionKind,
  TransactionStatus,
  type Branch,
  type BranchAnswer,
  type Transaction,
} from "../../gen/dtx/v1/types_pb";

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** An enum value's name in lower case (the generated enums carry no type prefix). */
function enumName(names: Record<number, string>, value: number): string {
  return (names[value] ?? String(value)).toLowerCase();
}

export const statusName = (s: TransactionStatus): string => enumName(TransactionStatus, s);
export const kindName = (k: TransactionKind): string => enumName(TransactionKind, k);
const branchStatusName = (s: BranchStatus): string => enumName(BranchStatus, s);
const outcomeName = (o: BranchOutcome): string => enumName(BranchOutcome, o).toUpperCase();

function time(t: Timestamp | undefined): string {
  return t ? timestampDate(t).toISOString() : "-";
}

/** An answer in one line: outcome, code, text (newlines folded, cut at `max`). */
function answer(a: BranchAnswer | undefined, max = 80): string {
  if (!a) return "-";
  const text = a.text.replace(/\s+/g, " ").trim();
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return [outcomeName(a.outcome), a.code, cut].filter((s) => s !== "").join(" ");
}

/** `dtx list`: one row a transaction, with why it is stuck when it is. */
export function transactionTable(transactions: Transaction[]): string {
  return table(
    ["GID", "KIND", "STATUS", "CREATED", "NEXT LOOK", "LAST FAILURE"],
    transactions.map((t) => [
      t.gid,
      kindName(t.kind),
      statusName(t.status),
      time(t.createTime),
      isFinished(t.status) ? "-" : time(t.nextCronTime),
      t.lastFailure
        ? `${t.lastFailure.branchId} ${t.lastFailure.op}: ${answer(t.lastFailure.answer, 60)}`
        : "",
    ]),
  );
}

function isFinished(s: TransactionStatus): boolean {
  return s === TransactionStatus.SUCCEED || s === TransactionStatus.FAILED;
}

/** `dtx show`: the transaction's fields, then its branch tree with statuses, attempts and last answers. */
export function transactionView(t: Transaction): string {
  const fields: [string, string][] = [
    ["gid", t.gid],
    ["kind", kindName(t.kind)],
    ["status", statusName(t.status)],
    ["created", time(t.createTime)],
    ["updated", time(t.updateTime)],
    ["finished", time(t.finishTime)],
    ["next look", isFinished(t.status) ? "-" : time(t.nextCronTime)],
    ["rollback reason", t.rollbackReason || "-"],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  let out = fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n") + "\n\n";
  out += branchTree(t.branches);
  return out;
}

/** Branches grouped by branch id (`01 ├ action`), in stored order. */
function branchTree(branches: Branch[]): string {
  if (branches.length === 0) return "(no branches)\n";
  const rows: string[][] = [];
  branches.forEach((b, i) => {
    const first = i === 0 || branches[i - 1]!.branchId !== b.branchId;
    const last = i === branches.length - 1 || branches[i + 1]!.branchId !== b.branchId;
    rows.push([
      `${first ? b.branchId : "".padEnd(b.branchId.length)} ${last ? "└" : "├"} ${b.op}`,
      branchStatusName(b.status),
      String(b.attempts),
      time(b.lastAnswer?.callTime),
      answer(b.lastAnswer),
      b.url,
    ]);
  });
  return table(["BRANCH", "STATUS", "ATTEMPTS", "LAST CALL", "LAST ANSWER", "URL"], rows);
}
