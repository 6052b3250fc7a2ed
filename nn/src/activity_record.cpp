#include "txsim/nn/activity_record.h"

#include <cmath>

#include "txsim/config.h"
#include "txsim/json_fields.h"
#include "txsim/nn/network.h"

namespace txsim::nn {

namespace {

constexpr char kMagic[] = "TXSIMACT";
constexpr std::size_t kMagicBytes = 8;
constexpr uint64_t kFormat = 1;
constexpr int kMaxShape = 1 << 24;  // a layer's inputs or outputs
// Bounds that keep every product the timed model forms (rows x in x out MACs, bytes) far from
// overflow.
constexpr uint64_t kMaxRows = (uint64_t(1) << 31) - 1, kMaxValues = uint64_t(1) << 50;  // rows: an int
constexpr double kMaxMacs = 1e18;
constexpr std::uintmax_t kMaxRecordBytes = std::uintmax_t(8) << 30;

nlohmann::json layer_json(const RecordedLayer& l) {
  nlohmann::json j = {{"analog", l.analog}, {"in", l.in}, {"out", l.out}, {"crossbars", l.crossbars}, {"in_array_update", l.in_array_update}};
  if (l.analog)
    j["crossbar"] = {{"rows", l.rows},           {"cols", l.cols},         {"weight_bits", l.weight_bits},
                     {"bits_per_cell", l.bits_per_cell}, {"dac_bits", l.dac_bits}, {"adc_bits", l.adc_bits}};
  return j;
}

RecordedLayer layer_from_json(const nlohmann::json& j, const std::string& where, const std::string& source) {
  JsonFields<StateError> f(j, where, source);
  RecordedLayer l;
  l.analog = f.boolean("analog", false);
  l.in = f.integer("in", 1, kMaxShape);
  l.out = f.integer("out", 1, kMaxShape);
  l.crossbars = f.integer("crossbars", l.analog ? 1 : 0, l.analog ? 1 << 30 : 0);
  l.in_array_update = f.boolean("in_array_update", false);
  if (l.analog) {
    const nlohmann::json* c = f.object("crossbar", true);
    JsonFields<StateError> x(*c, where + ".crossbar", source);
    l.rows = x.integer("rows", 1, 1 << 20);
    l.cols = x.integer("cols", 1, 1 << 20);
    l.weight_bits = x.integer("weight_bits", 1, 32);
    l.bits_per_cell = x.integer("bits_per_cell", 1, 32);
    l.dac_bits = x.integer("dac_bits", 1, 32);
    l.adc_bits = x.integer("adc_bits", 1, 32);
    x.finish();
  }
  f.finish();
  return l;
}

[[noreturn]] void bad_event(const std::string& source, std::size_t k, const std::string& what) {
  throw StateError(source + ": event " + std::to_string(k) + ": " + what);
}

void check_events(const ActivityRecord& r, const std::string& source) {
  bool in_batch = false;
  uint64_t epoch = 0;
  for (std::size_t k = 0; k < r.events.size(); ++k) {
    const RecordedEvent& e = r.events[k];
    switch (e.kind) {
      case RecordedEvent::kBatch:
        if (e.value < 1 || e.value > uint64_t(1) << 30)
          bad_event(source, k, "a batch of " + std::to_string(e.value) + " samples: accepted 1.." + std::to_string(1 << 30));
        if (e.flag > 1) bad_event(source, k, "a batch's train flag " + std::to_string(e.flag) + ": accepted 0 or 1");
        in_batch = true;
        break;
      case RecordedEvent::kPhase: {
        if (!in_batch) bad_event(source, k, "a phase before any batch");
        if (e.value >= static_cast<uint64_t>(kPhases))
          bad_event(source, k, "phase " + std::to_string(e.value) + ": accepted 0 (FW) .. 3 (WU)");
        if (e.index >= r.layers.size())
          bad_event(source, k, "layer " + std::to_string(e.index) + ": the record has " + std::to_string(r.layers.size()) + " layers");
        const RecordedLayer& l = r.layers[e.index];
        if (e.in != static_cast<uint64_t>(l.in) || e.out != static_cast<uint64_t>(l.out))
          bad_event(source, k, "a " + std::to_string(e.in) + " x " + std::to_string(e.out) + " phase of layer " + std::to_string(e.index) +
                                   ", which is " + std::to_string(l.in) + " x " + std::to_string(l.out));
        if (e.flag != (l.analog ? 1u : 0u))
          bad_event(source, k, "the analog flag " + std::to_string(e.flag) + " of layer " + std::to_string(e.index) + ", which is " +
                                   (l.analog ? "analog" : "digital"));
        if (e.rows > kMaxRows || double(e.rows) * l.in * l.out > kMaxMacs)
          bad_event(source, k, std::to_string(e.rows) + " rows: accepted at most " + std::to_string(kMaxRows) + " and 1e18 MACs");
        if (e.input_values > kMaxValues)
          bad_event(source, k, std::to_string(e.input_values) + " input values: accepted at most 2^50");
        break;
      }
      case RecordedEvent::kEpoch:
        if (e.value != epoch + 1)
          bad_event(source, k, "epoch " + std::to_string(e.value) + " after epoch " + std::to_string(epoch) + ": epochs count up from 1");
        epoch = e.value;
        in_batch = false;
        break;
      default:
        bad_event(source, k, "kind " + std::to_string(e.kind) + ": accepted 0 (batch), 1 (phase), 2 (epoch)");
    }
  }
}

}  // namespace

void ActivityRecord::replay(PhaseObserver& observer) const {
  for (const RecordedEvent& e : events) {
    if (e.kind == RecordedEvent::kBatch) {
      observer.on_batch(static_cast<int>(e.value), e.flag != 0);
    } else if (e.kind == RecordedEvent::kPhase) {
      PhaseEvent p;
      p.phase = static_cast<Phase>(e.value);
      p.index = static_cast<int>(e.index);
      p.rows = static_cast<int>(e.rows);
      p.in = static_cast<int>(e.in);
      p.out = static_cast<int>(e.out);
      p.input_values = e.input_values;
      p.analog = e.flag != 0;
      p.activity = e.activity;
      observer.on_phase(p);
    } else {
      observer.on_epoch(static_cast<int>(e.value));
    }
  }
}

uint64_t ActivityRecord::train_samples() const {
  uint64_t n = 0;
  for (const RecordedEvent& e : events)
    if (e.kind == RecordedEvent::kBatch && e.flag) n += e.value;
  return n;
}

RecordedLayer recorded_layer(const WeightCore& c) {
  RecordedLayer l;
  l.analog = c.analog();
  l.in = c.in();
  l.out = c.out();
  l.crossbars = c.crossbars();
  l.in_array_update = c.in_array_update();
  if (const ArrayConfig* a = c.array()) {
    l.rows = a->rows;
    l.cols = a->cols;
    l.weight_bits = a->weight_bits;
    l.bits_per_cell = a->bits_per_cell;
    l.dac_bits = a->dac_bits;
    l.adc_bits = a->adc_bits;
  }
  return l;
}

std::vector<RecordedLayer> recorded_layers(Network& net) {
  std::vector<RecordedLayer> out;
  for (const WeightCore* c : net.cores()) out.push_back(recorded_layer(*c));
  return out;
}

void ActivityRecorder::on_batch(int samples, bool train) {
  RecordedEvent e;
  e.kind = RecordedEvent::kBatch;
  e.value = static_cast<uint64_t>(samples);
  e.flag = train ? 1 : 0;
  record_.events.push_back(e);
  if (next_) next_->on_batch(samples, train);
}

void ActivityRecorder::on_phase(const PhaseEvent& p) {
  RecordedEvent e;
  e.kind = RecordedEvent::kPhase;
  e.value = static_cast<uint64_t>(p.phase);
  e.flag = p.analog ? 1 : 0;
  e.index = static_cast<uint64_t>(p.index);
  e.rows = static_cast<uint64_t>(p.rows);
  e.in = static_cast<uint64_t>(p.in);
  e.out = static_cast<uint64_t>(p.out);
  e.input_values = p.input_values;
  e.activity = p.activity;
  record_.events.push_back(e);
  if (next_) next_->on_phase(p);
}

void ActivityRecorder::on_epoch(int epoch) {
  RecordedEvent e;
  e.kind = RecordedEvent::kEpoch;
  e.value = static_cast<uint64_t>(epoch);
  record_.events.push_back(e);
  if (next_) next_->on_epoch(epoch);
}

std::string record_bytes(const ActivityRecord& r) {
  nlohmann::json header = {{"label", r.label}, {"sample_values", r.sample_values}, {"layers", nlohmann::json::array()}};
  for (const RecordedLayer& l : r.layers) header["layers"].push_back(layer_json(l));
  StateWriter w;
  w.put("record format", kFormat);
  w.put_text("record header", header.dump());
  w.put_raw("record events", r.events);
  return std::string(kMagic, kMagicBytes) + w.bytes();
}

void save_record(const ActivityRecord& r, const std::string& path) { write_atomically(path, record_bytes(r)); }

ActivityRecord record_from_bytes(const std::string& bytes, const std::string& source) {
  if (bytes.size() < kMagicBytes || bytes.compare(0, kMagicBytes, kMagic) != 0)
    throw StateError(source + ": not a TxSim activity record (it does not start with " + kMagic + ")");
  StateReader in(bytes, source, kMagicBytes);
  const uint64_t format = in.get_u64("record format");
  if (format != kFormat)
    throw StateError(source + ": activity record format " + std::to_string(format) + ": this TxSim reads format " + std::to_string(kFormat));
  const nlohmann::json header = parse_json<StateError>(in.get_text("record header", std::size_t(16) << 20), source + " (header)");
  ActivityRecord r;
  JsonFields<StateError> f(header, "header", source);
  if (const nlohmann::json* label = f.take("label"); !label || !label->is_string())
    fail_at<StateError>(source, "header.label", "accepted a string");
  else
    r.label = label->get<std::string>();
  r.sample_values = f.integer("sample_values", 1, 1 << 30);
  const nlohmann::json* layers = f.take("layers");
  if (!layers || !layers->is_array() || layers->empty() || layers->size() > 100000)
    fail_at<StateError>(source, "header.layers", "accepted an array of 1..100000 layers");
  for (std::size_t i = 0; i < layers->size(); ++i)
    r.layers.push_back(layer_from_json((*layers)[i], "header.layers[" + std::to_string(i) + "]", source));
  f.finish();
  in.get_raw("record events", r.events, in.peek_count("record events") / sizeof(RecordedEvent));
  if (!in.done()) throw StateError(source + ": bytes after the events (not a file this TxSim wrote)");
  check_events(r, source);
  return r;
}

ActivityRecord load_record(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_text_file(path, kMaxRecordBytes);
  } catch (const ConfigError& e) {
    throw StateError(e.what());
  }
  return record_from_bytes(bytes, path);
}

}  // namespace txsim::nn
