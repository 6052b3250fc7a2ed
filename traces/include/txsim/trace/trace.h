// Timing traces: one TraceSink interface that the timed modules write spans to (a module's unit
// busy from a start time for a duration, on a named track), and its Perfetto / Chrome trace JSON
// implementation. The VCD of signals comes from SystemC's own tracing (tlm_models).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace txsim::trace {

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // A track (one per module unit: "tile3 crossbars", "noc", ...), created on first use.
  virtual int track(const std::string& name) = 0;
  // The unit on `track` is busy with `name` from start_ns for duration_ns (simulated time).
  virtual void span(int track, const std::string& name, double start_ns, double duration_ns) = 0;
};

// Chrome trace event format (which the Perfetto UI opens): a "traceEvents" array with one
// thread per track (named by "M" metadata events), and every span as a "B"/"E" pair, in
// microseconds. Spans are kept in memory and written at the end, atomically.
class PerfettoTrace final : public TraceSink {
 public:
  explicit PerfettoTrace(std::string process_name) : process_(std::move(process_name)) {}
  int track(const std::string& name) override;
  void span(int track, const std::string& name, double start_ns, double duration_ns) override;
  std::size_t spans() const { return spans_.size(); }
  nlohmann::json to_json() const;
  void write(const std::string& path) const;

 private:
  struct Span {
    int track;
    std::string name;
    double start_ns, duration_ns;
  };
  std::string process_;
  std::map<std::string, int> ids_;
  std::vector<std::string> names_;
  std::vector<Span> spans_;
};

// Checks a Chrome trace JSON the way a viewer needs it: a traceEvents array; every event has
// name, ph, pid, tid (and ts, except metadata); per track, timestamps never go back and every
// "E" closes the latest open "B" of the same name, none left open. Returns the problems found
// (empty: valid).
std::vector<std::string> validate_chrome_trace(const nlohmann::json& trace);

}  // namespace txsim::trace
