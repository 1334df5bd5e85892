#include "codec/ignored_field.hpp"

#include <string>
#include <vector>

namespace lims::codec::detail {
namespace {

simdjson::error_code check_scalar(od::value& v, od::json_type type) {
  switch (type) {
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s);
    }
    case od::json_type::number: {
      od::number n;
      return v.get_number().get(n);
    }
    case od::json_type::boolean: {
      bool b = false;
      return v.get_bool().get(b);
    }
    default: {
      bool is_null = false;
      const auto error = v.is_null().get(is_null);
      return error ? error : is_null ? simdjson::SUCCESS : simdjson::INCORRECT_TYPE;
    }
  }
}

// Walks one value depth-first with an explicit stack of open arrays and objects.
// On-demand skipping alone does not validate what it skips: an unbalanced '}' inside a skipped
// value can end the object early, and whether simdjson notices then depends on the byte after
// the input. So every scalar is read and every container iterated to its end.
class Walker {
 public:
  // Reads `root` through; the first error wins.
  simdjson::error_code walk(od::value& root) {
    simdjson::error_code error = enter(root);
    while (!error && !stack_.empty()) error = step();
    return error;
  }

 private:
  struct Level {
    bool is_array = false;
    bool advance = false;  // a child was visited: step past it before looking for the next
    od::array_iterator array_at, array_end;
    od::object_iterator object_at, object_end;
  };

  // Validates a scalar, or pushes a container's level.
  simdjson::error_code enter(od::value& v) {
    od::json_type type;
    SIMDJSON_TRY(v.type().get(type));
    if (type == od::json_type::array) {
      od::array a;
      Level level;
      level.is_array = true;
      SIMDJSON_TRY(v.get_array().get(a));
      SIMDJSON_TRY(a.begin().get(level.array_at));
      SIMDJSON_TRY(a.end().get(level.array_end));
      stack_.push_back(level);
      return simdjson::SUCCESS;
    }
    if (type == od::json_type::object) {
      od::object o;
      Level level;
      SIMDJSON_TRY(v.get_object().get(o));
      SIMDJSON_TRY(o.begin().get(level.object_at));
      SIMDJSON_TRY(o.end().get(level.object_end));
      stack_.push_back(level);
      return simdjson::SUCCESS;
    }
    return check_scalar(v, type);
  }

  // Moves to the innermost open container's next child and enters it, or closes the container.
  simdjson::error_code step() {
    Level& level = stack_.back();
    if (level.advance) {
      if (level.is_array)
        ++level.array_at;
      else
        ++level.object_at;
    }
    level.advance = true;
    const bool more =
        level.is_array ? level.array_at != level.array_end : level.object_at != level.object_end;
    if (!more) {
      stack_.pop_back();
      return simdjson::SUCCESS;
    }
    od::value child;
    if (level.is_array) {
      SIMDJSON_TRY((*level.array_at).get(child));
    } else {
      od::field field;
      std::string_view key;
      SIMDJSON_TRY((*level.object_at).get(field));
      SIMDJSON_TRY(field.unescaped_key().get(key));
      child = field.value();
    }
    if (stack_.size() >= kMaxIgnoredDepth) return simdjson::DEPTH_ERROR;
    return enter(child);  // may push: `level` is not used after this
  }

  std::vector<Level> stack_;
};

}  // namespace

Problem read_ignored(od::value& v) {
  const simdjson::error_code error = Walker().walk(v);
  if (error == simdjson::DEPTH_ERROR)
    return "expected JSON nested at most " + std::to_string(kMaxIgnoredDepth) +
           " levels deep (the field is ignored, but must be valid); got deeper nesting";
  if (error)
    return std::string("expected valid JSON (the field is ignored, but must be valid); got ") +
           (error == simdjson::INCORRECT_TYPE
                ? "an invalid literal"
                : std::string("malformed JSON (") + simdjson::error_message(error) + ")");
  return std::nullopt;
}

}  // namespace lims::codec::detail
