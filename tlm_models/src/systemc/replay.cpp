#include "txsim/tlm/systemc/replay.h"

#include "txsim/config.h"
#include "txsim/tlm/cost_model/report.h"
#include "txsim/tlm/cost_model/schedule.h"
#include "txsim/tlm/systemc/child_process.h"
#include "txsim/trace/trace.h"

namespace txsim::hw {

std::vector<LayerShape> recorded_shapes(const nn::ActivityRecord& record, const std::string& record_source, const Platform& platform) {
  std::vector<LayerShape> shapes;
  for (std::size_t i = 0; i < record.layers.size(); ++i) {
    const nn::RecordedLayer& l = record.layers[i];
    shapes.push_back({l.analog, l.in, l.out, l.crossbars, l.in_array_update});
    if (!l.analog) continue;
    ArrayConfig counted;
    counted.rows = l.rows;
    counted.cols = l.cols;
    counted.weight_bits = l.weight_bits;
    counted.bits_per_cell = l.bits_per_cell;
    counted.dac_bits = l.dac_bits;
    counted.adc_bits = l.adc_bits;
    ArrayConfig imposed = counted;
    platform.apply_to(imposed, record_source);
    const struct {
      const char* field;
      int recorded, platform;
    } fields[] = {{"rows", counted.rows, imposed.rows},
                  {"cols", counted.cols, imposed.cols},
                  {"bits_per_cell", counted.bits_per_cell, imposed.bits_per_cell},
                  {"dac_bits", counted.dac_bits, imposed.dac_bits},
                  {"adc_bits", counted.adc_bits, imposed.adc_bits}};
    for (const auto& f : fields)
      if (f.recorded != f.platform)
        throw ConfigError(record_source + " on platform " + platform.source + ": layer " + std::to_string(i) +
                          "'s activity was counted with crossbar." + f.field + " " + std::to_string(f.recorded) +
                          ", the platform imposes " + std::to_string(f.platform) +
                          "; accepted: a platform with the record's crossbar geometry and precision (or record the run on "
                          "this platform: txsim train --platform with --record-activity)");
  }
  return shapes;
}

HardwareReport time_record(const nn::ActivityRecord& record, const std::string& record_source, const Platform& platform,
                           const TimedOptions& timed) {
  return run_on_chip(platform, recorded_shapes(record, record_source, platform), record.sample_values, timed,
                     [&](nn::PhaseObserver& controller) { record.replay(controller); });
}

ReplayOutputs time_record_in_child(const nn::ActivityRecord& record, const std::string& record_source, const Platform& platform,
                                   const ReplayFiles& files) {
  const nlohmann::json answer = nlohmann::json::parse(run_in_child_process([&] {
    trace::PerfettoTrace perfetto("TxSim " + record.label + " on " + platform.name);
    TimedOptions timed;
    timed.trace = files.trace.empty() ? nullptr : &perfetto;
    timed.trace_batches = files.trace_batches;
    timed.vcd_path = files.vcd;
    const HardwareReport r = time_record(record, record_source, platform, timed);
    if (timed.trace) perfetto.write(files.trace);
    return nlohmann::json({{"hardware", to_json(r)}, {"summary", summary(r)}, {"layers_csv", layer_csv(r)}, {"units_csv", unit_csv(r)}})
        .dump();
  }));
  return {answer["hardware"], answer["summary"], answer["layers_csv"], answer["units_csv"]};
}

}  // namespace txsim::hw
