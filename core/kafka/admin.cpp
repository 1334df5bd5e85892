#include "kafka/admin.hpp"

#include "common/error.hpp"
#include "kafka/client.hpp"

namespace lims::kafka {

void create_topics(const std::string& brokers, const std::vector<std::string>& topics,
                   int partitions, const Properties& extra, int timeout_ms) {
  Properties props = {{"bootstrap.servers", brokers}};
  props.insert(props.end(), extra.begin(), extra.end());
  KafkaHandle rk = detail::make_client(RD_KAFKA_PRODUCER, detail::make_conf(props));
  detail::wait_for_cluster(rk.get(), brokers, timeout_ms);

  char err[512];
  std::vector<NewTopicHandle> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const auto& t : topics) {
    owned.emplace_back(rd_kafka_NewTopic_new(t.c_str(), partitions, 1, err, sizeof err));
    if (!owned.back()) throw Error("topic " + t + ": " + err, ExitCode::usage);
    raw.push_back(owned.back().get());
  }
  QueueHandle queue(rd_kafka_queue_new(rk.get()));
  AdminOptionsHandle options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, err, sizeof err);
  rd_kafka_CreateTopics(rk.get(), raw.data(), raw.size(), options.get(), queue.get());

  EventHandle event(rd_kafka_queue_poll(queue.get(), timeout_ms + 5000));
  if (!event) throw Error("creating topics: no answer from " + brokers, ExitCode::unreachable);
  if (rd_kafka_event_error(event.get()))
    throw Error(std::string("creating topics: ") + rd_kafka_event_error_string(event.get()));
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  std::size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
  for (std::size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
      throw Error(std::string("creating topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                  rd_kafka_err2str(e));
  }
}

TopicState ensure_topic(const std::string& brokers, const std::string& topic, int partitions,
                        const Properties& extra, int timeout_ms) {
  Properties props = {{"bootstrap.servers", brokers}};
  props.insert(props.end(), extra.begin(), extra.end());
  // The lookup must not create the topic with the broker's defaults (a producer's metadata
  // request asks for that unless told otherwise): it comes last, so -X cannot undo it.
  props.emplace_back("allow.auto.create.topics", "false");
  KafkaHandle rk = detail::make_client(RD_KAFKA_PRODUCER, detail::make_conf(props));
  detail::wait_for_cluster(rk.get(), brokers, timeout_ms);

  TopicHandle handle(rd_kafka_topic_new(rk.get(), topic.c_str(), nullptr));
  if (!handle)
    throw Error("topic " + topic + ": " + rd_kafka_err2str(rd_kafka_last_error()), ExitCode::usage);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, handle.get(), &md, timeout_ms);
  MetadataHandle owned(md);
  if (err) throw Error("looking up topic " + topic + ": " + rd_kafka_err2str(err));
  const rd_kafka_resp_err_t found =
      md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_NO_ERROR;
  if (found == RD_KAFKA_RESP_ERR_NO_ERROR || found == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
    return TopicState::existed;
  if (found != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    throw Error("looking up topic " + topic + ": " + rd_kafka_err2str(found));

  char errstr[512];
  NewTopicHandle request(
      rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, errstr, sizeof errstr));
  if (!request) throw Error("topic " + topic + ": " + errstr, ExitCode::usage);
  QueueHandle queue(rd_kafka_queue_new(rk.get()));
  AdminOptionsHandle options(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, errstr, sizeof errstr);
  rd_kafka_NewTopic_t* raw = request.get();
  rd_kafka_CreateTopics(rk.get(), &raw, 1, options.get(), queue.get());
  EventHandle event(rd_kafka_queue_poll(queue.get(), timeout_ms + 5000));
  if (!event) throw Error("creating topic " + topic + ": no answer from " + brokers);
  if (rd_kafka_event_error(event.get()))
    throw Error("creating topic " + topic + ": " + rd_kafka_event_error_string(event.get()));
  std::size_t n = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event.get()), &n);
  if (n != 1) throw Error("creating topic " + topic + ": the broker answered for no topic");
  switch (const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[0])) {
    case RD_KAFKA_RESP_ERR_NO_ERROR: return TopicState::created;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return TopicState::existed;
    default: {
      const char* detail = rd_kafka_topic_result_error_string(results[0]);
      throw Error("creating topic " + topic + ": " +
                  (detail && *detail ? detail : rd_kafka_err2str(e)));
    }
  }
}

}  // namespace lims::kafka
