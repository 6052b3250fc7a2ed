// Strict reading of a JSON object's members: typed getters with ranges and defaults, and a
// final check that no unknown key is left. Errors (type Error) read "source: where.key: value:
// accepted ...".
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace txsim {

// Nesting deeper than any TxSim file needs is refused before it can exhaust the stack of
// whatever walks the tree (copies, dumps, error messages).
constexpr int kMaxJsonDepth = 64;

// The one way TxSim parses JSON text: errors (type Error) name `source`; a document nested
// deeper than kMaxJsonDepth is refused while parsing.
template <class Error, class Json = nlohmann::json>
Json parse_json(const std::string& text, const std::string& source) {
  typename Json::parser_callback_t limit = [&source](int depth, typename Json::parse_event_t event, Json&) {
    if (depth >= kMaxJsonDepth && (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start))
      throw Error(source + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels: accepted at most " +
                  std::to_string(kMaxJsonDepth));
    return true;
  };
  try {
    return Json::parse(text, limit);
  } catch (const typename Json::exception& e) {  // parse errors, and numbers out of range (1e400)
    throw Error(source + ": not valid JSON: " + e.what());
  }
}

// The value of an integer JSON number if it lies in [lo, hi] (no wrap-around: 2^32 + 64 is not
// 64, and unsigned values beyond the signed range are compared as such).
inline std::optional<long long> json_integer(const nlohmann::json& v, long long lo, long long hi) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<unsigned long long>();
    if (hi < 0 || u > static_cast<unsigned long long>(hi) || (lo > 0 && u < static_cast<unsigned long long>(lo))) return std::nullopt;
    return static_cast<long long>(u);
  }
  if (!v.is_number_integer()) return std::nullopt;
  const auto i = v.get<long long>();
  if (i < lo || i > hi) return std::nullopt;
  return i;
}

template <class Error>
[[noreturn]] void fail_at(const std::string& source, const std::string& where, const std::string& what) {
  throw Error(source + ": " + where + ": " + what);
}

template <class Error>
class JsonFields {
 public:
  JsonFields(const nlohmann::json& j, std::string where, const std::string& source) : j_(j), where_(std::move(where)), source_(source) {
    if (!j.is_object()) fail_at<Error>(source_, where_, "accepted a JSON object, got " + j.dump());
  }
  int integer(const char* key, int lo, int hi, std::optional<int> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) {
      if (fallback) return *fallback;
      fail_at<Error>(source_, where_, std::string("missing '") + key + "'");
    }
    const std::optional<long long> i = json_integer(*v, lo, hi);
    if (!i) fail_at<Error>(source_, where_ + "." + key, v->dump() + ": accepted an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return static_cast<int>(*i);
  }
  // A number in [lo, hi]; without a fallback the key is required.
  double number(const char* key, double lo, double hi, std::optional<double> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) {
      if (fallback) return *fallback;
      fail_at<Error>(source_, where_, std::string("missing '") + key + "'");
    }
    if (!v->is_number() || !(v->get<double>() >= lo && v->get<double>() <= hi))
      fail_at<Error>(source_, where_ + "." + key, v->dump() + ": accepted a number in [" + nlohmann::json(lo).dump() + ", " + nlohmann::json(hi).dump() + "]");
    return v->get<double>();
  }
  bool boolean(const char* key, bool fallback) {
    const nlohmann::json* v = take(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail_at<Error>(source_, where_ + "." + key, v->dump() + ": accepted true or false");
    return v->get<bool>();
  }
  std::string string(const char* key, const std::vector<std::string>& accepted, std::optional<std::string> fallback = std::nullopt) {
    const nlohmann::json* v = take(key);
    if (!v) {
      if (fallback) return *fallback;
      fail_at<Error>(source_, where_, std::string("missing '") + key + "'");
    }
    std::string list;
    for (const auto& a : accepted) list += (list.empty() ? "" : ", ") + a;
    if (v->is_string())
      for (const auto& a : accepted)
        if (*v == a) return a;
    fail_at<Error>(source_, where_ + "." + key, v->dump() + ": accepted one of " + list);
  }
  // A member that must be an object (for nested readers); nullptr when absent.
  const nlohmann::json* object(const char* key, bool required) {
    const nlohmann::json* v = take(key);
    if (!v && required) fail_at<Error>(source_, where_, std::string("missing '") + key + "'");
    if (v && !v->is_object()) fail_at<Error>(source_, where_ + "." + key, v->dump() + ": accepted a JSON object");
    return v;
  }
  const nlohmann::json* take(const char* key) {
    auto it = j_.find(key);
    if (it == j_.end()) return nullptr;
    seen_.insert(key);
    return &*it;
  }
  void finish() const {
    for (const auto& item : j_.items())
      if (!seen_.count(item.key())) fail_at<Error>(source_, where_, "unknown key '" + item.key() + "'");
  }

 private:
  const nlohmann::json& j_;
  std::string where_;
  const std::string& source_;
  std::set<std::string> seen_;
};

}  // namespace txsim
