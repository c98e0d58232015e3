import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "./clock";
import { invalidField } from "./errors";
import type { KvPage, KvRecord, KvRepository } from "./kv-repository";
import { checkPage, type PageQuery } from "./listing";
import { MAX_TOPIC_LENGTH } from "./msg-definition";
import type { ResolveContext } from "./trans-kind";
import { isCallableUrl } from "./url-check";

/** The key-value category topics live in (dtm's). */
export const TOPICS_CAT = "topics";

/** How often a subscribe or unsubscribe that lost the version compare-and-set reads again and retries. */
const MAX_ATTEMPTS = 100;

/** The longest remark a subscriber keeps. */
const MAX_REMARK_LENGTH = 1024;

/** One subscriber of a topic: a URL every `topic://` step of the topic is delivered to. */
export interface Subscriber {
  url: string;
  remark: string;
}

/** A topic: its subscribers in subscription order, and the version of its key-value row. */
export interface Topic {
  name: string;
  subscribers: Subscriber[];
  version: number;
  createTime: Date;
  updateTime: Date;
}

/** What the topics work with. */
export interface TopicsDeps {
  kv: KvRepository;
  clock: Clock;
  /** The most subscribers a topic may have (a message fans out to at most the step limit). */
  maxSubscribers: number;
  maxPageSize: number;
}

/**
 * Topics of 2-phase messages (dtm's subscribe, unsubscribe, deleteTopic, and its key-value reads),
 * stored as key-value rows `(topics, <name>)` whose value is dtm's JSON list of subscribers. A change
 * is a compare-and-set on the row's version, retried on a lost race: concurrent subscribes and
 * unsubscribes all take effect, each adding exactly 1 to the version. Also the lookup messages use
 * to fan a `topic://` step out to the current subscribers.
 */
export interface Topics extends ResolveContext {
  /** Adds a subscriber, creating the topic on its first one. */
  subscribe(topic: string, url: string, remark: string): Promise<Topic>;
  /** Removes a subscriber (the topic stays, possibly empty). */
  unsubscribe(topic: string, url: string): Promise<Topic>;
  /** Deletes a topic with its subscribers. */
  deleteTopic(topic: string): Promise<void>;
  /** One topic, or null. */
  get(topic: string): Promise<Topic | null>;
  /** A page of topics, newest first. */
  list(q: PageQuery): Promise<{ topics: Topic[]; next: string }>;
  /** A page of key-value rows of a category (every category's when `cat` is empty), newest first. */
  scanKv(cat: string, q: PageQuery): Promise<KvPage>;
  /** The key-value rows of a category, or the one of `key` when given. */
  queryKv(cat: string, key: string): Promise<KvRecord[]>;
}

/** The topics over a key-value repository. */
export function createTopics(deps: TopicsDeps): Topics {
  const { kv, clock } = deps;

  /** Applies `edit` to a topic's subscribers (null: no such topic) by compare-and-set on its version. */
  async function change(name: string, edit: (subs: Subscriber[] | null) => Subscriber[]): Promise<Topic> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [row] = await kv.find(TOPICS_CAT, name);
      const subscribers = edit(row ? decodeSubscribers(row.value) : null);
      const value = JSON.stringify(subscribers);
      const now = clock.now();
      if (!row) {
        const created = await kv.create(TOPICS_CAT, name, value, now);
        if (created) return toTopic(created);
      } else if (await kv.update(row.id, value, row.version, now)) {
        return toTopic({ ...row, value, version: row.version + 1, updateTime: now });
      }
      // another writer changed the topic between the read and the write: read it again
    }
    throw new ConnectError(
      `topic ${JSON.stringify(name)} is changed by others too often: try again`,
      Code.Unavailable,
    );
  }

  return {
    async topicSubscribers(name) {
      const [row] = await kv.find(TOPICS_CAT, name);
      return row ? decodeSubscribers(row.value).map((s) => s.url) : null;
    },

    subscribe(topic, url, remark) {
      checkTopic(topic);
      if (url === "") throw invalidField(["url"], "empty url");
      if (!isCallableUrl(url)) {
        throw invalidField(
          ["url"],
          `${JSON.stringify(url)} is neither an http(s) URL nor host:port/package.Service/Method`,
        );
      }
      if (remark.length > MAX_REMARK_LENGTH) {
        throw invalidField(["remark"], `is longer than ${MAX_REMARK_LENGTH} characters`);
      }
      return change(topic, (subs) => {
        // dtm's texts: its admin UI and operators know them
        if (subs?.some((s) => s.url === url)) throw new ConnectError("this url exists", Code.AlreadyExists);
        if ((subs?.length ?? 0) >= deps.maxSubscribers) {
          throw new ConnectError(
            `topic ${JSON.stringify(topic)} has ${deps.maxSubscribers} subscribers, the most a message can fan out to`,
            Code.ResourceExhausted,
          );
        }
        return [...(subs ?? []), { url, remark }];
      });
    },

    unsubscribe(topic, url) {
      checkTopic(topic);
      if (url === "") throw invalidField(["url"], "empty url");
      return change(topic, (subs) => {
        if (subs === null) throw new ConnectError("no such a topic", Code.NotFound);
        if (subs.length === 0) throw new ConnectError("this topic is empty", Code.NotFound);
        if (!subs.some((s) => s.url === url)) throw new ConnectError("no such an url", Code.NotFound);
        return subs.filter((s) => s.url !== url);
      });
    },

    async deleteTopic(topic) {
      checkTopic(topic);
      if (!(await kv.delete(TOPICS_CAT, topic))) throw new ConnectError("no such a topic", Code.NotFound);
    },

    async get(topic) {
      checkTopic(topic);
      const [row] = await kv.find(TOPICS_CAT, topic);
      return row ? toTopic(row) : null;
    },

    async list(q) {
      const { beforeId, limit } = checkPage(q, deps.maxPageSize);
      const page = await kv.scan(TOPICS_CAT, beforeId, limit);
      return { topics: page.rows.map(toTopic), next: page.next };
    },

    scanKv(cat, q) {
      const { beforeId, limit } = checkPage(q, deps.maxPageSize);
      return kv.scan(cat, beforeId, limit);
    },

    queryKv(cat, key) {
      return key === "" ? kv.find(cat) : kv.find(cat, key);
    },
  };
}

/** A topic name as every verb takes it (dtm's text when it is missing). */
function checkTopic(topic: string): void {
  if (topic === "") throw invalidField(["topic"], "empty topic");
  if (topic.length > MAX_TOPIC_LENGTH) {
    throw invalidField(["topic"], `is longer than ${MAX_TOPIC_LENGTH} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(topic)) throw invalidField(["topic"], "contains a control character");
}

/** dtm's stored subscriber list; a value that cannot be read has none (it is written only here). */
function decodeSubscribers(value: string): Subscriber[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed
    .filter((s): s is { url: string; remark?: unknown } => typeof s?.url === "string" && s.url !== "")
    .map((s) => ({ url: s.url, remark: typeof s.remark === "string" ? s.remark : "" }));
}

function toTopic(row: KvRecord): Topic {
  return {
    name: row.key,
    subscribers: decodeSubscribers(row.value),
    version: row.version,
    createTime: row.createTime,
    updateTime: row.updateTime,
  };
}
