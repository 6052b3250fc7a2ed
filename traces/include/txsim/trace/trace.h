// Timing traces: one TraceSink interface that the timed modules write spans to (a module's unit
// busy from a start time for a duration, on a named track), and its Perfetto / Chrome trace JSON
// implementation. The VCD of signals comes from SystemC's own tracing (tlm_models).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace txsim::trace {

// Figures shown with a span (the details pane): MACs, conversions, bytes, energy, ...
using SpanArgs = std::vector<std::pair<std::string, double>>;

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // A track (one per unit: "pe0", "link_0_1", ...) in a group of tracks ("tile3", "noc"; ""
  // for the chip's own), created on first use.
  virtual int track(const std::string& name, const std::string& group = "") = 0;
  // The unit on `track` is busy with `name` from start_ns for duration_ns (simulated time).
  virtual void span(int track, const std::string& name, double start_ns, double duration_ns, const SpanArgs& args = {}) = 0;
  // A counter track `name` (bytes held, links busy, ...) changes by `delta` at t_ns.
  virtual void count(const std::string& name, double t_ns, double delta) = 0;
};

// Chrome trace event format (which the Perfetto UI opens): a "traceEvents" array with one
// process per group of tracks and one thread per track (named by "M" metadata events), every
// span as a "B"/"E" pair with its figures as "args", every counter as "C" events of its running
// value, in microseconds. Kept in memory and written at the end, atomically.
class PerfettoTrace final : public TraceSink {
 public:
  explicit PerfettoTrace(std::string process_name) : process_(std::move(process_name)) {}
  int track(const std::string& name, const std::string& group = "") override;
  void span(int track, const std::string& name, double start_ns, double duration_ns, const SpanArgs& args = {}) override;
  void count(const std::string& name, double t_ns, double delta) override;
  std::size_t spans() const { return spans_.size(); }
  nlohmann::json to_json() const;
  void write(const std::string& path) const;

 private:
  struct Span {
    int track;
    std::string name;
    double start_ns, duration_ns;
    SpanArgs args;
  };
  std::string process_;
  std::map<std::pair<std::string, std::string>, int> ids_;  // (group, name)
  std::vector<std::pair<std::string, std::string>> names_;  // by track: (group, name)
  std::vector<Span> spans_;
  std::map<std::string, std::vector<std::pair<double, double>>> counters_;  // name: (t_ns, delta)
};

// Checks a Chrome trace JSON the way a viewer needs it: a traceEvents array; every event has
// name, ph, pid, tid (and ts, except metadata); per track, timestamps never go back and every
// "E" closes the latest open "B" of the same name, none left open. Returns the problems found
// (empty: valid).
std::vector<std::string> validate_chrome_trace(const nlohmann::json& trace);

}  // namespace txsim::trace
