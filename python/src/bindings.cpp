// The C++ core for Python (module txsim._core): device presets and analog weight cores, their
// reads and updates on numpy arrays (the package hands torch tensors over without copies).
// Config errors become ValueError with the C++ message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "txsim/config.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/layers.h"
#include "txsim/nn/network.h"
#include "txsim/parallel.h"
#include "txsim/state_archive.h"

#include "activity_bindings.h"
#include "binding_util.h"
#include "conv_bindings.h"

namespace py = pybind11;
using txsim::nn::AnalogCore;
using txsim::nn::DevicePreset;

using namespace txsim_python;

namespace {

// The values of an (out x in) array for core c, or ValueError naming what it got.
std::vector<float> weight_matrix(const Floats& a, const AnalogCore& c, const char* what) {
  rows_of(a, c.in(), what);
  if (a.shape(0) != c.out())
    throw py::value_error(std::string(what) + ": expected " + std::to_string(c.out()) + " rows, got " + std::to_string(a.shape(0)));
  return std::vector<float>(a.data(), a.data() + a.size());
}

// A read of a (rows x in_width) array into a new (rows x out_width) one, without the GIL.
template <class Read>
Floats read_rows(const Floats& a, int in_width, int out_width, const char* what, Read read) {
  const int rows = rows_of(a, in_width, what);
  Floats out = matrix(rows, out_width);
  SerialBlas serial;
  py::gil_scoped_release free;
  read(a.data(), rows, out.mutable_data());
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "TxSim's C++ crossbar core";
  py::register_exception<txsim::ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<txsim::StateError>(m, "StateError", PyExc_ValueError);

  m.def("set_threads", [](int n) { SerialBlas serial; txsim::set_threads(n); }, py::arg("n"),
        "Threads of TxSim's own pool (reads, updates); torch keeps its own (torch.set_num_threads)");
  m.def("threads", [] { SerialBlas serial; return txsim::threads(); }, "Threads of TxSim's own pool");

  m.def(
      "sgd_step",
      [](Floats value, const Floats& grad, Floats momentum, double lr, double mu, double wd) {
        const py::ssize_t n = value.size();
        if (grad.size() != n || momentum.size() != n)
          throw py::value_error("sgd_step: value, gradient and momentum need the same number of values");
        std::vector<float> step(static_cast<std::size_t>(n));
        txsim::nn::momentum_step(step.size(), mu, wd, lr, grad.data(), value.data(), momentum.mutable_data(), step.data());
        float* v = value.mutable_data();
        for (std::size_t i = 0; i < step.size(); ++i) v[i] += step[i];
      },
      py::arg("value").noconvert(), py::arg("grad").noconvert(), py::arg("momentum").noconvert(), py::arg("lr"),
      py::arg("momentum_factor"), py::arg("weight_decay"),
      "The C++ optimizer's step on a digital parameter, in place (value += step, momentum updated)");

  m.def(
      "linear_layer_reads",
      [](const DevicePreset& preset, const Floats& weights, const Floats& bias, const Floats& x, uint64_t seed, int layer, int reads) {
        // The C++ layer of txsim train (nn::Linear on an AnalogCore): the reference the Python
        // AnalogLinear is tested against.
        if (weights.ndim() != 2 || bias.ndim() != 1 || bias.shape(0) != weights.shape(0))
          throw py::value_error("linear_layer_reads: weights (out x in) and bias (out)");
        const int out = static_cast<int>(weights.shape(0)), in = static_cast<int>(weights.shape(1));
        const int rows = rows_of(x, in, "linear_layer_reads input");
        SerialBlas serial;
        auto owned = std::make_unique<AnalogCore>(preset, in, out, seed, layer);
        AnalogCore& core = *owned;
        txsim::nn::Linear linear(in, out, true, seed, std::move(owned));
        core.program_weights(std::vector<float>(weights.data(), weights.data() + weights.size()));
        std::copy(bias.data(), bias.data() + out, linear.params()[1]->value.begin());
        txsim::nn::Tensor in_t({rows, in}), out_t;
        std::copy(x.data(), x.data() + x.size(), in_t.ptr());
        std::vector<Floats> ys;
        for (int r = 0; r < reads; ++r) {
          linear.forward(in_t, out_t, false);
          Floats y = matrix(rows, out);
          std::copy(out_t.data.begin(), out_t.data.end(), y.mutable_data());
          ys.push_back(y);
        }
        return ys;
      },
      py::arg("preset"), py::arg("weights"), py::arg("bias"), py::arg("x"), py::arg("seed"), py::arg("layer"), py::arg("reads"),
      "`reads` forward reads of x by the C++ linear layer of txsim train, its devices programmed to `weights`");

  py::class_<DevicePreset>(m, "DevicePreset")
      .def_readonly("name", &DevicePreset::name)
      .def_readonly("source", &DevicePreset::source)
      .def_readonly("weight_range", &DevicePreset::weight_range)
      .def_readonly("bit_length", &DevicePreset::bit_length);
  m.def("load_device_preset", &txsim::nn::load_device_preset, py::arg("path"), "A device preset from its JSON file");
  m.def(
      "device_preset_from_json",
      [](const std::string& text, const std::string& source) {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
          throw py::value_error(source + ": not JSON: " + e.what());
        }
        return txsim::nn::device_preset_from_json(j, source);
      },
      py::arg("text"), py::arg("source"), "A device preset from JSON text (`source` names it in errors)");

  py::class_<AnalogCore>(m, "AnalogCore")
      .def(py::init([](const DevicePreset& preset, int in, int out, uint64_t seed, int layer) {
             SerialBlas serial;
             return std::make_unique<AnalogCore>(preset, in, out, seed, layer);
           }),
           py::arg("preset"), py::arg("in_features"), py::arg("out_features"), py::arg("seed"), py::arg("layer"))
      .def_property_readonly("in_features", &AnalogCore::in)
      .def_property_readonly("out_features", &AnalogCore::out)
      .def(
          "forward",
          [](AnalogCore& c, const Floats& x) {
            return read_rows(x, c.in(), c.out(), "AnalogCore.forward input",
                             [&](const float* in, int rows, float* out) { c.forward(in, rows, out); });
          },
          py::arg("x"), "y = x W^T through the crossbars (rows x in -> rows x out)")
      .def(
          "backward",
          [](AnalogCore& c, const Floats& dy) {
            return read_rows(dy, c.out(), c.in(), "AnalogCore.backward gradient",
                             [&](const float* in, int rows, float* out) { c.backward(in, rows, out); });
          },
          py::arg("dy"), "dx = dy W through the crossbars, read transposed")
      .def(
          "apply",
          [](AnalogCore& c, const Floats& step, double lr) {
            const std::vector<float> s = weight_matrix(step, c, "AnalogCore.apply step");
            SerialBlas serial;
            py::gil_scoped_release free;
            c.apply(s, lr);
          },
          py::arg("step"), py::arg("lr"), "Programs W += step through the preset's update model")
      .def(
          "sgd_step",
          [](AnalogCore& c, const Floats& grad, Floats momentum, double lr, double mu, double wd) {
            const std::size_t n = static_cast<std::size_t>(c.in()) * c.out();
            if (grad.size() != static_cast<py::ssize_t>(n) || momentum.size() != static_cast<py::ssize_t>(n))
              throw py::value_error("AnalogCore.sgd_step: gradient and momentum need " + std::to_string(n) + " values each");
            std::vector<float> step(n);
            txsim::nn::momentum_step(n, mu, wd, lr, grad.data(), c.weight().value.data(), momentum.mutable_data(), step.data());
            SerialBlas serial;
            py::gil_scoped_release free;
            c.apply(step, lr);
            c.matrix().prepare_reads(txsim::Direction::Forward);  // what prepare_backward_reads relies on
          },
          py::arg("grad").noconvert(), py::arg("momentum").noconvert(), py::arg("lr"), py::arg("momentum_factor"),
          py::arg("weight_decay"),
          "The C++ optimizer's step (momentum updated in place) programmed through the preset's update model")
      .def(
          "prepare_backward_reads",
          [](AnalogCore& c) {
            SerialBlas serial;
            py::gil_scoped_release free;
            txsim::SerialOnThisThread alone;
            c.matrix().prepare_reads(txsim::Direction::Backward);
          },
          "Builds the transposed read's matrices now, on this thread alone and without the GIL. After "
          "sgd_step it may run beside forward reads of this core (only those): the package runs it on a "
          "background thread while torch computes")
      .def(
          "program",
          [](AnalogCore& c, const Floats& w) {
            const std::vector<float> values = weight_matrix(w, c, "AnalogCore.program weights");
            SerialBlas serial;
            c.program_weights(values);
          },
          py::arg("weights"), "Programs the devices to these weights (out x in)")
      .def(
          "weights",
          [](AnalogCore& c) {
            Floats w = matrix(c.out(), c.in());
            std::copy(c.weight().value.begin(), c.weight().value.end(), w.mutable_data());
            return w;
          },
          "The weights the devices hold (out x in)")
      .def(
          "save_state",
          [](const AnalogCore& c) {
            txsim::StateWriter w;
            c.save_state(w);
            return py::bytes(w.bytes());
          },
          "Every conductance, device parameter and counter of the core, as bytes")
      .def(
          "load_state",
          [](AnalogCore& c, const py::bytes& state) {
            const std::string bytes = state;  // the reader keeps a reference to it
            txsim::StateReader r(bytes, "analog layer state");
            SerialBlas serial;
            c.load_state(r);
          },
          py::arg("state"), "Restores save_state's bytes (of a core of the same preset and shape)");

  bind_conv2d(m);
  bind_activity(m);
}
