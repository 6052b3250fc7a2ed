// Typed, named records of a model's state for checkpoints: each entry is written with its name,
// element type and count, and read back only under the same name, type and count, so a piece
// of state added to a writer but not to the matching reader (or read in another order) is an
// error naming it, never a silently shifted checkpoint. Floating-point entries must be finite.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace txsim {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateWriter {
 public:
  void put(const std::string& name, uint64_t v) { entry(name, 'u', 1, &v, sizeof v); }
  void put(const std::string& name, double v) { entry(name, 'd', 1, &v, sizeof v); }
  void put(const std::string& name, const std::vector<float>& v) { entry(name, 'f', v.size(), v.data(), v.size() * sizeof(float)); }
  void put(const std::string& name, const std::vector<double>& v) { entry(name, 'd', v.size(), v.data(), v.size() * sizeof(double)); }
  void put(const std::string& name, const std::vector<int32_t>& v) { entry(name, 'i', v.size(), v.data(), v.size() * sizeof(int32_t)); }
  void put(const std::string& name, const std::vector<uint64_t>& v) { entry(name, 'u', v.size(), v.data(), v.size() * sizeof(uint64_t)); }
  void put_text(const std::string& name, const std::string& s) { entry(name, 't', s.size(), s.data(), s.size()); }
  // A plain struct of numbers (trivially copyable), as bytes: its size is its type check. It must
  // have no padding: padding bytes are indeterminate, and the same state must give the same file.
  template <class T>
  void put_raw(const std::string& name, const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    entry(name, static_cast<char>('A' + sizeof(T) % 26), v.size() * sizeof(T), v.data(), v.size() * sizeof(T));
  }
  const std::string& bytes() const { return out_; }

 private:
  void entry(const std::string& name, char type, uint64_t count, const void* data, std::size_t bytes);
  std::string out_;
};

class StateReader {
 public:
  // `source` names the file in errors; entries start at byte `start` (after a file's magic).
  StateReader(const std::string& bytes, std::string source, std::size_t start = 0)
      : in_(bytes), source_(std::move(source)), at_(std::min(start, bytes.size())) {}
  uint64_t get_u64(const std::string& name);
  double get_double(const std::string& name);
  std::string get_text(const std::string& name, std::size_t max_bytes);
  // A vector of exactly `count` elements (the size the model expects).
  void get(const std::string& name, std::vector<float>& v, std::size_t count);
  void get(const std::string& name, std::vector<double>& v, std::size_t count);
  void get(const std::string& name, std::vector<int32_t>& v, std::size_t count);
  void get(const std::string& name, std::vector<uint64_t>& v, std::size_t count);
  template <class T>
  void get_raw(const std::string& name, std::vector<T>& v, std::size_t count) {
    static_assert(std::is_trivially_copyable_v<T>);
    check_room(name, count, sizeof(T));
    v.resize(count);
    take(name, static_cast<char>('A' + sizeof(T) % 26), count * sizeof(T), v.data(), count * sizeof(T));
  }
  // Sizes that the model does not fix (optional state that may be empty): the next entry's count.
  uint64_t peek_count(const std::string& name);
  bool done() const { return at_ == in_.size(); }
  const std::string& source() const { return source_; }

 private:
  void take(const std::string& name, char type, uint64_t count, void* data, std::size_t bytes);
  void check_room(const std::string& name, uint64_t count, std::size_t element) const;
  // check_room, then exactly `count` elements of `type`; floating-point ones must be finite.
  template <class T>
  void get_vector(const std::string& name, std::vector<T>& v, std::size_t count, char type);
  const std::string& in_;
  std::string source_;
  std::size_t at_ = 0;
};

}  // namespace txsim
