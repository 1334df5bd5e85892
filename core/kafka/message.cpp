#include "kafka/message.hpp"

#include "kafka/handles.hpp"

namespace lims::kafka {

void Message::Deleter::operator()(rd_kafka_message_s* m) const noexcept {
  rd_kafka_message_destroy(m);
}

bool Message::is_record() const { return m_->err == RD_KAFKA_RESP_ERR_NO_ERROR; }
bool Message::is_partition_eof() const { return m_->err == RD_KAFKA_RESP_ERR__PARTITION_EOF; }
std::string Message::error() const { return rd_kafka_message_errstr(m_.get()); }
std::string_view Message::topic() const { return m_->rkt ? rd_kafka_topic_name(m_->rkt) : ""; }
std::int32_t Message::partition() const { return m_->partition; }
std::int64_t Message::offset() const { return m_->offset; }
const char* Message::key() const { return static_cast<const char*>(m_->key); }
std::size_t Message::key_size() const { return m_->key_len; }
const char* Message::value() const { return static_cast<const char*>(m_->payload); }
std::size_t Message::value_size() const { return m_->len; }

std::optional<std::string_view> Message::header(std::string_view name) const {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m_.get(), &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  const std::string wanted(name);
  const void* value = nullptr;
  std::size_t size = 0;
  if (rd_kafka_header_get_last(headers, wanted.c_str(), &value, &size) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    return {};
  return std::string_view(static_cast<const char*>(value), size);
}

std::int64_t Message::timestamp_ms() const { return rd_kafka_message_timestamp(m_.get(), nullptr); }

}  // namespace lims::kafka
