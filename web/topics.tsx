import { useEffect, useState } from "preact/hooks";
import type { Topic } from "../gen/dtx/v1/topics_pb";
import { errorText, topics } from "./api";
import { time } from "./format";

/** Topics (2-phase messages fan out to their subscribers) and who subscribes. */
export function TopicList() {
  const [list, setList] = useState<Topic[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    topics.listTopics({ pageSize: 1000 }).then(
      (res) => setList(res.topics),
      (err: unknown) => setError(errorText(err)),
    );
  }, []);
  if (error) return <p class="error">{error}</p>;
  if (!list) return <p>Loading topics…</p>;
  if (list.length === 0) return <p class="empty">No topics.</p>;
  return (
    <div class="scroll">
      <table class="topics">
        <thead>
          <tr>
            <th>topic</th>
            <th>subscribers</th>
            <th>updated</th>
          </tr>
        </thead>
        <tbody>
          {list.map((t) => (
            <tr data-topic={t.name}>
              <td>{t.name}</td>
              <td>
                {t.subscribers.map((s) => (
                  <div class="url">
                    {s.url}
                    {s.remark && <span class="remark"> ({s.remark})</span>}
                  </div>
                ))}
              </td>
              <td>{time(t.updateTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
