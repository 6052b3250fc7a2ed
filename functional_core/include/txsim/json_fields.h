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
    if (!v->is_number_integer() || v->get<long long>() < lo || v->get<long long>() > hi)
      fail_at<Error>(source_, where_ + "." + key, v->dump() + ": accepted an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    return v->get<int>();
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
