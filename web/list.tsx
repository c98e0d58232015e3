import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "preact/hooks";
import type { AdminServiceListTransactionsResponse } from "../gen/dtx/v1/admin_pb";
import { TransactionKind, TransactionStatus } from "../gen/dtx/v1/types_pb";
import { admin, errorText } from "./api";
import { isFinished, kindName, outcomeName, relative, statusName, time } from "./format";

/** The list's filters, as the form holds them. */
interface Filters {
  status: string;
  kind: string;
  gidPrefix: string;
  from: string;
  to: string;
}

const STATUS_CHOICES: Record<string, TransactionStatus[]> = {
  any: [],
  unfinished: [TransactionStatus.PREPARED, TransactionStatus.SUBMITTED, TransactionStatus.ABORTING],
  prepared: [TransactionStatus.PREPARED],
  submitted: [TransactionStatus.SUBMITTED],
  aborting: [TransactionStatus.ABORTING],
  succeed: [TransactionStatus.SUCCEED],
  failed: [TransactionStatus.FAILED],
};
const KINDS = ["saga", "tcc", "xa", "msg", "workflow"];
const REFRESH_MS = 3_000;

/**
 * Transactions, newest first: filters (status, kind, gid prefix, time range), keyset pages, and
 * auto-refresh of the page shown.
 */
export function TransactionList({ onError }: { onError: (err: unknown) => void }) {
  const [filters, setFilters] = useState<Filters>({
    status: "any",
    kind: "",
    gidPrefix: "",
    from: "",
    to: "",
  });
  const [tokens, setTokens] = useState<string[]>([""]); // the page tokens of the pages seen, first to current
  const [page, setPage] = useState<AdminServiceListTransactionsResponse | null>(null);
  const [auto, setAuto] = useState(true);
  const [error, setError] = useState("");
  const pageToken = tokens[tokens.length - 1]!;

  const load = async () => {
    try {
      const res = await admin.listTransactions({
        pageSize: 20,
        pageToken,
        statuses: STATUS_CHOICES[filters.status],
        kind:
          filters.kind === ""
            ? TransactionKind.UNSPECIFIED
            : TransactionKind[filters.kind.toUpperCase() as "SAGA"],
        gidPrefix: filters.gidPrefix,
        createTimeStart: filters.from ? timestampFromDate(new Date(filters.from)) : undefined,
        createTimeEnd: filters.to ? timestampFromDate(new Date(filters.to)) : undefined,
      });
      setPage(res);
      setError("");
    } catch (err) {
      setError(errorText(err));
      onError(err);
    }
  };

  useEffect(() => {
    void load();
    if (!auto) return;
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [filters, pageToken, auto]);

  const set = (key: keyof Filters) => (e: Event) => {
    setFilters({ ...filters, [key]: (e.target as HTMLInputElement).value });
    setTokens([""]);
  };

  return (
    <section>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          status
          <select name="status" value={filters.status} onChange={set("status")}>
            {Object.keys(STATUS_CHOICES).map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          kind
          <select name="kind" value={filters.kind} onChange={set("kind")}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          gid prefix
          <input
            name="gidPrefix"
            value={filters.gidPrefix}
            onInput={set("gidPrefix")}
            placeholder="transfer-"
          />
        </label>
        <label>
          created from
          <input name="from" type="datetime-local" value={filters.from} onInput={set("from")} />
        </label>
        <label>
          to
          <input name="to" type="datetime-local" value={filters.to} onInput={set("to")} />
        </label>
        <label class="check">
          <input name="auto" type="checkbox" checked={auto} onChange={() => setAuto(!auto)} /> auto-refresh
        </label>
      </form>
      {error && <p class="error">{error}</p>}
      <div class="scroll">
        <table class="transactions">
          <thead>
            <tr>
              <th>gid</th>
              <th>kind</th>
              <th>status</th>
              <th>created</th>
              <th>next look</th>
              <th>last failure</th>
            </tr>
          </thead>
          <tbody>
            {page?.transactions.map((t) => (
              <tr data-gid={t.gid}>
                <td>
                  <a href={`#/tx/${encodeURIComponent(t.gid)}`}>{t.gid}</a>
                </td>
                <td>{kindName(t.kind)}</td>
                <td class={`status ${statusName(t.status)}`}>{statusName(t.status)}</td>
                <td>{time(t.createTime)}</td>
                <td>{isFinished(t.status) ? "—" : relative(t.nextCronTime)}</td>
                <td class="answer">
                  {t.lastFailure
                    ? `${t.lastFailure.branchId} ${t.lastFailure.op}: ${outcomeName(t.lastFailure.answer?.outcome ?? 0)} ${t.lastFailure.answer?.code ?? ""} ${t.lastFailure.answer?.text ?? ""}`
                    : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page && page.transactions.length === 0 && <p class="empty">No transactions match.</p>}
      <nav class="pages">
        <button type="button" disabled={tokens.length === 1} onClick={() => setTokens([""])}>
          first
        </button>
        <button type="button" disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          previous
        </button>
        <button
          type="button"
          name="next"
          disabled={!page || page.nextPageToken === ""}
          onClick={() => page && setTokens([...tokens, page.nextPageToken])}
        >
          next
        </button>
      </nav>
    </section>
  );
}
