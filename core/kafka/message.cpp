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

}  // namespace lims::kafka
