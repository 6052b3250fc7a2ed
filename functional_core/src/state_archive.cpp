#include "txsim/state_archive.h"

#include <cmath>
#include <cstring>
#include <type_traits>

namespace txsim {

// Entry layout: u32 name length, name, u8 type, u64 count, payload.
void StateWriter::entry(const std::string& name, char type, uint64_t count, const void* data, std::size_t bytes) {
  const uint32_t n = static_cast<uint32_t>(name.size());
  out_.append(reinterpret_cast<const char*>(&n), sizeof n);
  out_ += name;
  out_ += type;
  out_.append(reinterpret_cast<const char*>(&count), sizeof count);
  if (bytes) out_.append(static_cast<const char*>(data), bytes);  // an empty vector's data() may be null
}

namespace {
const char* type_name(char t) {
  switch (t) {
    case 'u': return "unsigned integers";
    case 'd': return "doubles";
    case 'f': return "floats";
    case 'i': return "integers";
    case 't': return "text";
    default: return "raw records";
  }
}
}  // namespace

void StateReader::take(const std::string& name, char type, uint64_t count, void* data, std::size_t bytes) {
  const std::string where = source_ + ": state '" + name + "'";
  uint32_t n = 0;
  if (in_.size() - at_ < sizeof n) throw StateError(where + ": truncated (the file ends before it)");
  std::memcpy(&n, in_.data() + at_, sizeof n);
  if (n > 256 || in_.size() - at_ - sizeof n < n + 1 + sizeof(uint64_t)) throw StateError(where + ": truncated or damaged entry header");
  const std::string found(in_.data() + at_ + sizeof n, n);
  if (found != name) throw StateError(where + ": found '" + found + "' in its place (a checkpoint of another model or version)");
  std::size_t at = at_ + sizeof n + n;
  const char t = in_[at++];
  uint64_t c = 0;
  std::memcpy(&c, in_.data() + at, sizeof c);
  at += sizeof c;
  if (t != type) throw StateError(where + ": holds " + type_name(t) + ", expected " + type_name(type));
  if (c != count)
    throw StateError(where + ": holds " + std::to_string(c) + " values, the model has " + std::to_string(count) +
                     " (another workload or device?)");
  if (in_.size() - at < bytes) throw StateError(where + ": truncated");
  if (bytes) std::memcpy(data, in_.data() + at, bytes);  // an empty vector's data() may be null
  at_ = at + bytes;
}

uint64_t StateReader::peek_count(const std::string& name) {
  uint32_t n = 0;
  const std::string where = source_ + ": state '" + name + "'";
  if (in_.size() - at_ < sizeof n) throw StateError(where + ": truncated (the file ends before it)");
  std::memcpy(&n, in_.data() + at_, sizeof n);
  if (n > 256 || in_.size() - at_ - sizeof n < n + 1 + sizeof(uint64_t)) throw StateError(where + ": truncated or damaged entry header");
  uint64_t c = 0;
  std::memcpy(&c, in_.data() + at_ + sizeof n + n + 1, sizeof c);
  return c;
}

// A count read from the file (or expected by the model) is held against the bytes left before
// anything is allocated for it: a damaged count cannot make the reader allocate what the file
// does not hold.
void StateReader::check_room(const std::string& name, uint64_t count, std::size_t element) const {
  if (count > (in_.size() - at_) / element)
    throw StateError(source_ + ": state '" + name + "': " + std::to_string(count) + " values announced, the file holds fewer");
}

uint64_t StateReader::get_u64(const std::string& name) {
  uint64_t v = 0;
  take(name, 'u', 1, &v, sizeof v);
  return v;
}

double StateReader::get_double(const std::string& name) {
  double v = 0;
  take(name, 'd', 1, &v, sizeof v);
  if (!std::isfinite(v)) throw StateError(source_ + ": state '" + name + "' is not finite");
  return v;
}

std::string StateReader::get_text(const std::string& name, std::size_t max_bytes) {
  const uint64_t n = peek_count(name);
  if (n > max_bytes || n > in_.size()) throw StateError(source_ + ": state '" + name + "': " + std::to_string(n) + " bytes, accepted at most " + std::to_string(max_bytes));
  std::string s(n, '\0');
  take(name, 't', n, s.data(), n);
  return s;
}

namespace {
template <class T>
void check_finite(const std::string& source, const std::string& name, const std::vector<T>& v) {
  for (std::size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw StateError(source + ": state '" + name + "' value " + std::to_string(i) + " is not finite (" + std::to_string(v[i]) + ")");
}
}  // namespace

template <class T>
void StateReader::get_vector(const std::string& name, std::vector<T>& v, std::size_t count, char type) {
  check_room(name, count, sizeof(T));
  v.resize(count);
  take(name, type, count, v.data(), count * sizeof(T));
  if constexpr (std::is_floating_point_v<T>) check_finite(source_, name, v);
}

void StateReader::get(const std::string& name, std::vector<float>& v, std::size_t count) { get_vector(name, v, count, 'f'); }
void StateReader::get(const std::string& name, std::vector<double>& v, std::size_t count) { get_vector(name, v, count, 'd'); }
void StateReader::get(const std::string& name, std::vector<int32_t>& v, std::size_t count) { get_vector(name, v, count, 'i'); }
void StateReader::get(const std::string& name, std::vector<uint64_t>& v, std::size_t count) { get_vector(name, v, count, 'u'); }

}  // namespace txsim
