#pragma once
// RAII owners for libmongoc/libbson handles: one deleter per handle type.

#include <mongoc/mongoc.h>

#include <memory>

namespace lims::store {

struct MongoDeleter {
  void operator()(mongoc_client_t* p) const noexcept { mongoc_client_destroy(p); }
  void operator()(mongoc_uri_t* p) const noexcept { mongoc_uri_destroy(p); }
  void operator()(mongoc_collection_t* p) const noexcept { mongoc_collection_destroy(p); }
  void operator()(mongoc_bulk_operation_t* p) const noexcept { mongoc_bulk_operation_destroy(p); }
  void operator()(mongoc_cursor_t* p) const noexcept { mongoc_cursor_destroy(p); }
  void operator()(mongoc_write_concern_t* p) const noexcept { mongoc_write_concern_destroy(p); }
  void operator()(bson_t* p) const noexcept { bson_destroy(p); }
};

using MongoClient = std::unique_ptr<mongoc_client_t, MongoDeleter>;
using MongoUri = std::unique_ptr<mongoc_uri_t, MongoDeleter>;
using MongoCollection = std::unique_ptr<mongoc_collection_t, MongoDeleter>;
using MongoBulk = std::unique_ptr<mongoc_bulk_operation_t, MongoDeleter>;
using MongoCursor = std::unique_ptr<mongoc_cursor_t, MongoDeleter>;
using MongoWriteConcern = std::unique_ptr<mongoc_write_concern_t, MongoDeleter>;
// bson_t is declared 128-byte aligned; a unique_ptr only holds its address, so the attribute
// GCC says it drops does not matter here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
using BsonDoc = std::unique_ptr<bson_t, MongoDeleter>;  // for bson_new()/BCON_NEW() documents

/// A new empty document.
inline BsonDoc make_doc() { return BsonDoc(bson_new()); }
#pragma GCC diagnostic pop

/// A document libmongoc fills in place (a command's reply), destroyed when it goes. It starts
/// empty, and libmongoc initializes it whether its call succeeds or not.
class BsonReply {
 public:
  BsonReply() = default;
  ~BsonReply() { bson_destroy(&doc_); }
  BsonReply(const BsonReply&) = delete;
  BsonReply& operator=(const BsonReply&) = delete;
  bson_t* get() { return &doc_; }

 private:
  bson_t doc_ = BSON_INITIALIZER;
};

}  // namespace lims::store
