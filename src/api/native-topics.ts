import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  DeleteTopicResponseSchema,
  GetTopicResponseSchema,
  ListTopicsResponseSchema,
  SubscribeResponseSchema,
  TopicSchema,
  UnsubscribeResponseSchema,
  type Topic as TopicProto,
  type TopicService,
} from "../../gen/dtx/v1/topics_pb";
import type { Topic, Topics } from "../core/topics";

/** A topic as the API shows it. */
function topicToProto(t: Topic): TopicProto {
  return create(TopicSchema, {
    name: t.name,
    subscribers: t.subscribers,
    version: BigInt(t.version),
    createTime: timestampFromDate(t.createTime),
    updateTime: timestampFromDate(t.updateTime),
  });
}

/**
 * The `dtx.v1.TopicService` implementation: the topics of 2-phase messages (the same as dtm's
 * subscribe, unsubscribe and topic routes), served as gRPC, gRPC-Web, Connect and REST. Errors keep
 * their codes: ALREADY_EXISTS for a URL subscribed already, NOT_FOUND for an unknown topic or URL.
 */
export function topicService(topics: Topics): ServiceImpl<typeof TopicService> {
  return {
    async subscribe(req) {
      const topic = await topics.subscribe(req.topic, req.url, req.remark);
      return create(SubscribeResponseSchema, { topic: topicToProto(topic) });
    },
    async unsubscribe(req) {
      const topic = await topics.unsubscribe(req.topic, req.url);
      return create(UnsubscribeResponseSchema, { topic: topicToProto(topic) });
    },
    async getTopic(req) {
      const topic = await topics.get(req.topic);
      if (!topic) throw new ConnectError(`no topic ${JSON.stringify(req.topic)}`, Code.NotFound);
      return create(GetTopicResponseSchema, { topic: topicToProto(topic) });
    },
    async listTopics(req) {
      const page = await topics.list({
        pageSize: req.pageSize === 0 ? undefined : req.pageSize,
        cursor: req.pageToken,
      });
      return create(ListTopicsResponseSchema, {
        topics: page.topics.map(topicToProto),
        nextPageToken: page.next,
      });
    },
    async deleteTopic(req) {
      await topics.deleteTopic(req.topic);
      return create(DeleteTopicResponseSchema, {});
    },
  };
}
