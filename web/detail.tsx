import { toJson } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { useEffect, useState } from "preact/hooks";
import { TransactionOptionsSchema, type Transaction } from "../gen/dtx/v1/types_pb";
import { admin, CHANGED, errorText } from "./api";
import {
  branchStatusName,
  isFinished,
  kindName,
  outcomeName,
  payloadText,
  relative,
  statusName,
  time,
} from "./format";

/** One transaction: options, payloads, branches with their last answers, the next look, a timeline, actions. */
export function TransactionDetail({ gid, onError }: { gid: string; onError: (err: unknown) => void }) {
  const [t, setT] = useState<Transaction | null>(null);
  const [error, setError] = useState("");
  const [result, setResult] = useState("");

  const load = async () => {
    try {
      setT((await admin.getTransaction({ gid })).transaction ?? null);
      setError("");
    } catch (err) {
      setError(errorText(err));
      onError(err);
    }
  };
  useEffect(() => {
    void load();
  }, [gid]);

  const act = async (what: "force-stop" | "retry-now") => {
    const question =
      what === "force-stop"
        ? `Force-stop ${gid}? It fails at once: no branch is called afterwards and nothing is compensated.`
        : `Retry ${gid} now? The recovery worker takes it at its next poll.`;
    if (!confirm(question)) return;
    try {
      const res = what === "force-stop" ? await admin.forceStop({ gid }) : await admin.retryNow({ gid });
      setResult(
        what === "force-stop"
          ? `Force-stopped: ${statusName(res.transaction!.status)} (${res.transaction!.rollbackReason})`
          : "Due now: the recovery worker takes it at its next poll.",
      );
      await load();
      dispatchEvent(new Event(CHANGED)); // the health strip counts again
    } catch (err) {
      setResult(`Refused: ${errorText(err)}`);
      onError(err);
    }
  };

  if (error) return <p class="error">{error}</p>;
  if (!t) return <p>Loading {gid}…</p>;
  const unfinished = !isFinished(t.status);
  return (
    <section class="detail">
      <h2>
        <a href="#/">transactions</a> / <span class="gid">{t.gid}</span>
      </h2>
      <dl class="fields">
        <dt>kind</dt>
        <dd>{kindName(t.kind)}</dd>
        <dt>status</dt>
        <dd class={`status ${statusName(t.status)}`} data-field="status">
          {statusName(t.status)}
        </dd>
        <dt>created</dt>
        <dd>{time(t.createTime)}</dd>
        <dt>next look</dt>
        <dd>{unfinished ? `${time(t.nextCronTime)} (${relative(t.nextCronTime)})` : "—"}</dd>
        <dt>rollback reason</dt>
        <dd data-field="reason">{t.rollbackReason || "—"}</dd>
        <dt>options</dt>
        <dd>
          <pre>{JSON.stringify(t.options ? toJson(TransactionOptionsSchema, t.options) : {}, null, 2)}</pre>
        </dd>
      </dl>
      <div class="actions">
        <button type="button" name="force-stop" disabled={!unfinished} onClick={() => void act("force-stop")}>
          Force stop
        </button>
        <button type="button" name="retry-now" disabled={!unfinished} onClick={() => void act("retry-now")}>
          Retry now
        </button>
        {result && <span class="result">{result}</span>}
      </div>
      <h3>Branches</h3>
      <div class="scroll">
        <table class="branches">
          <thead>
            <tr>
              <th>branch</th>
              <th>op</th>
              <th>status</th>
              <th>attempts</th>
              <th>called</th>
              <th>last answer</th>
              <th>url</th>
            </tr>
          </thead>
          <tbody>
            {t.branches.map((b) => (
              <tr data-branch={`${b.branchId}-${b.op}`}>
                <td>{b.branchId}</td>
                <td>{b.op}</td>
                <td class={`status ${branchStatusName(b.status)}`}>{branchStatusName(b.status)}</td>
                <td>{b.attempts}</td>
                <td>{time(b.lastAnswer?.callTime)}</td>
                <td class="answer">
                  {b.lastAnswer
                    ? `${outcomeName(b.lastAnswer.outcome)} ${b.lastAnswer.code} ${b.lastAnswer.text}`
                    : "—"}
                </td>
                <td class="url">{b.url}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Payloads</h3>
      {t.branches
        .filter((b) => b.payload.length > 0)
        .map((b) => (
          <div class="payload">
            <div class="label">
              {b.branchId} {b.op}
            </div>
            <pre>{payloadText(b.payload)}</pre>
          </div>
        ))}
      <h3>Timeline</h3>
      <ol class="timeline">
        {timeline(t).map((e) => (
          <li>
            <span class="when">{time(e.at)}</span> {e.what}
          </li>
        ))}
      </ol>
    </section>
  );
}

/** What happened to a transaction, in time order: created, each branch's last call, rollback, finish, next look. */
function timeline(t: Transaction): { at: Timestamp; what: string }[] {
  const events: { at: Timestamp; what: string }[] = [];
  if (t.createTime) events.push({ at: t.createTime, what: "created" });
  for (const b of t.branches) {
    const a = b.lastAnswer;
    if (a?.callTime) {
      events.push({
        at: a.callTime,
        what: `branch ${b.branchId} ${b.op} called (attempt ${b.attempts}): ${outcomeName(a.outcome)} ${a.code}`,
      });
    }
  }
  if (t.rollbackTime) events.push({ at: t.rollbackTime, what: `rolling back: ${t.rollbackReason}` });
  if (t.finishTime) events.push({ at: t.finishTime, what: `finished: ${statusName(t.status)}` });
  if (!isFinished(t.status) && t.nextCronTime) events.push({ at: t.nextCronTime, what: "next look" });
  return events.sort((x, y) => timestampDate(x.at).getTime() - timestampDate(y.at).getTime());
}
