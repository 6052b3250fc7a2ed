#include "activity_bindings.h"

#include <pybind11/stl.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "txsim/config.h"
#include "txsim/nn/activity_record.h"
#include "txsim/nn/analog.h"
#include "txsim/tlm/cost_model/platform.h"
#include "txsim/tlm/systemc/replay.h"

namespace py = pybind11;
using txsim::nn::ActivityRecord;
using txsim::nn::ActivityRecorder;
using txsim::nn::AnalogCore;
using txsim::nn::RecordedLayer;

namespace {

txsim::Phase phase_of(int p) {
  if (p < 0 || p >= txsim::kPhases) throw py::value_error("phase " + std::to_string(p) + ": accepted 0 (FW) .. 3 (WU)");
  return static_cast<txsim::Phase>(p);
}

}  // namespace

void bind_activity(py::module_& m) {
  py::class_<RecordedLayer>(m, "RecordedLayer")
      .def(py::init<>())
      .def_readwrite("analog", &RecordedLayer::analog)
      .def_readwrite("in_features", &RecordedLayer::in)
      .def_readwrite("out_features", &RecordedLayer::out)
      .def_readwrite("crossbars", &RecordedLayer::crossbars)
      .def_readwrite("in_array_update", &RecordedLayer::in_array_update);

  py::class_<ActivityRecord>(m, "ActivityRecord")
      .def_readwrite("label", &ActivityRecord::label)
      .def_readwrite("sample_values", &ActivityRecord::sample_values)
      .def_readonly("layers", &ActivityRecord::layers)
      .def_property_readonly("reports", [](const ActivityRecord& r) { return r.events.size(); })
      .def_property_readonly("train_samples", &ActivityRecord::train_samples)
      .def(
          "save", [](const ActivityRecord& r, const std::string& path) { txsim::nn::save_record(r, path); }, py::arg("path"),
          "Writes the record (atomically) for txsim time or txsim.time");
  m.def("load_record", &txsim::nn::load_record, py::arg("path"), "An activity record from its file (ValueError naming what is wrong)");

  py::class_<ActivityRecorder>(m, "ActivityRecorder")
      .def(py::init<>())
      .def_property_readonly("record", py::overload_cast<>(&ActivityRecorder::record), py::return_value_policy::reference_internal)
      .def(
          "set_layers",
          [](ActivityRecorder& rec, const std::vector<RecordedLayer>& digital, const std::vector<const AnalogCore*>& analog) {
            // `analog[i]` is the core of layer i when it is analog (else None): its geometry.
            if (digital.size() != analog.size()) throw py::value_error("set_layers: one core (or None) per layer");
            std::vector<RecordedLayer> layers = digital;
            for (std::size_t i = 0; i < layers.size(); ++i)
              if (const AnalogCore* c = analog[i]) layers[i] = txsim::nn::recorded_layer(*c);
            rec.record().layers = std::move(layers);
          },
          py::arg("layers"), py::arg("analog_cores"))
      .def("batch", &ActivityRecorder::on_batch, py::arg("samples"), py::arg("train"))
      .def(
          "digital_phase",
          [](ActivityRecorder& rec, int phase, int index, int rows, int in, int out, uint64_t input_values) {
            txsim::nn::PhaseEvent e;
            e.phase = phase_of(phase);
            e.index = index;
            e.rows = rows;
            e.in = in;
            e.out = out;
            e.input_values = input_values ? input_values : static_cast<uint64_t>(rows) * in;
            rec.on_phase(e);
          },
          py::arg("phase"), py::arg("index"), py::arg("rows"), py::arg("in_features"), py::arg("out_features"),
          py::arg("input_values") = 0, "A digital layer's phase (no crossbar activity)")
      .def("epoch", &ActivityRecorder::on_epoch, py::arg("epoch"));

  // Analog cores report to a recorder as the C++ layers do (WeightCore::observe / report).
  py::class_<AnalogCore> core = py::reinterpret_borrow<py::class_<AnalogCore>>(m.attr("AnalogCore"));
  core.def(
          "observe", [](AnalogCore& c, ActivityRecorder* rec, int index) { c.observe(rec, index); }, py::arg("recorder").none(true),
          py::arg("index"), py::keep_alive<1, 2>(), "Report phases to `recorder` as layer `index` (None: stop)")
      .def(
          "report", [](AnalogCore& c, int phase, int rows, uint64_t input_values) { c.report(phase_of(phase), rows, input_values); },
          py::arg("phase"), py::arg("rows"), py::arg("input_values") = 0,
          "Hands the observer what the crossbars did since the last report, as this phase")
      .def_property_readonly("crossbars", &AnalogCore::crossbars)
      .def_property_readonly("in_array_update", &AnalogCore::in_array_update);

  m.def(
      "preset_on_platform",
      [](const txsim::nn::DevicePreset& preset, const std::string& platform, const std::vector<std::string>& sets) {
        const txsim::hw::Platform p = txsim::hw::load_platform(platform, sets, "platform_set");
        txsim::nn::DevicePreset out = preset;
        p.apply_to(out.crossbar.crossbar, preset.source);
        txsim::validate(out.crossbar, preset.source + " on platform " + p.source);
        txsim::nn::check_device_preset(out);
        return out;
      },
      py::arg("preset"), py::arg("platform"), py::arg("platform_set") = std::vector<std::string>{},
      "The preset with the platform's crossbar size, cell bits, DAC and ADC bits (as txsim train --platform)");

  m.def(
      "time_record",
      [](const ActivityRecord& record, const std::string& platform, const std::vector<std::string>& sets, const std::string& trace,
         int trace_batches, const std::string& vcd) {
        const txsim::hw::Platform p = txsim::hw::load_platform(platform, sets, "platform_set");
        txsim::hw::recorded_shapes(record, "the activity record", p);  // refused here, before a process starts
        if (trace_batches < 1) throw py::value_error("trace_batches " + std::to_string(trace_batches) + ": accepted 1 or more");
        txsim::hw::ReplayFiles files{trace, trace_batches, vcd};
        txsim::hw::ReplayOutputs timed;
        {
          py::gil_scoped_release free;
          timed = txsim::hw::time_record_in_child(record, "the activity record", p, files);
        }
        return nlohmann::json({{"summary", timed.summary},
                               {"hardware", timed.hardware},
                               {"layers_csv", timed.layers_csv},
                               {"units_csv", timed.units_csv}})
            .dump();
      },
      py::arg("record"), py::arg("platform"), py::arg("platform_set") = std::vector<std::string>{}, py::arg("trace") = "",
      py::arg("trace_batches") = 1, py::arg("vcd") = "",
      "The timed model on the record (in a child process): JSON text with summary, hardware, layers_csv, units_csv; "
      "optionally a Perfetto trace of the first trace_batches training batches and a VCD");
}

// libsystemc.so calls sc_main from its own main(), so the symbol must exist wherever it is loaded;
// the timed model elaborates and starts SystemC itself (in a child process), so this never runs.
extern "C" __attribute__((visibility("default"))) int sc_main(int, char**) { return 1; }
