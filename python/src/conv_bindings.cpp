#include "conv_bindings.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "binding_util.h"
#include "txsim/nn/analog.h"
#include "txsim/nn/conv2d.h"

using namespace txsim_python;
using txsim::nn::AnalogCore;
using txsim::nn::Tensor;

namespace {

// nn::Conv2d without a bias (torch adds it) on an AnalogCore it owns: square kernels, the same
// stride and padding in both directions, no dilation. Its reads, weight gradient and phase
// reports are the C++ layer's.
class AnalogConv2dLayer {
 public:
  AnalogConv2dLayer(const txsim::nn::DevicePreset& preset, int channels, int out, int kernel, int stride, int padding,
                    uint64_t seed, int layer)
      : core_(new AnalogCore(preset, channels * kernel * kernel, out, seed, layer)),
        conv_(channels, out, kernel, stride, padding, false, seed, std::unique_ptr<txsim::nn::WeightCore>(core_)),
        channels_(channels) {}
  AnalogCore& core() { return *core_; }

  Floats forward(const Floats& x, bool train) {
    if (x.ndim() != 4 || x.shape(1) != channels_)
      throw py::value_error("AnalogConv2d input: expected a 4-D float32 array (batch, " + std::to_string(channels_) +
                            ", height, width), got " + std::to_string(x.ndim()) + "-D");
    take(x, x_);
    {
      SerialBlas serial;
      py::gil_scoped_release free;
      conv_.forward(x_, y_, train);
    }
    return give(y_);
  }

  // dx and dW (out x in) for dy, from the last training forward.
  std::pair<Floats, Floats> backward(const Floats& dy) {
    if (dy.ndim() != 4 || dy.shape(1) != core_->out())
      throw py::value_error("AnalogConv2d gradient: expected a 4-D float32 array (batch, " + std::to_string(core_->out()) +
                            ", height, width)");
    take(dy, dy_);
    std::vector<float>& grad = core_->weight().grad;
    std::fill(grad.begin(), grad.end(), 0.0f);
    {
      SerialBlas serial;
      py::gil_scoped_release free;
      conv_.backward(dy_, dx_);
    }
    Floats dw = matrix(core_->out(), core_->in());
    std::copy(grad.begin(), grad.end(), dw.mutable_data());
    return {give(dx_), dw};
  }

 private:
  static void take(const Floats& a, Tensor& t) {
    t.resize({static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)), static_cast<int>(a.shape(2)), static_cast<int>(a.shape(3))});
    std::copy(a.data(), a.data() + a.size(), t.ptr());
  }
  static Floats give(const Tensor& t) {
    Floats a({t.shape[0], t.shape[1], t.shape[2], t.shape[3]});
    std::copy(t.data.begin(), t.data.end(), a.mutable_data());
    return a;
  }
  AnalogCore* core_;  // owned by conv_
  txsim::nn::Conv2d conv_;
  int channels_;
  Tensor x_, y_, dy_, dx_;
};

}  // namespace

void bind_conv2d(py::module_& m) {
  py::class_<AnalogConv2dLayer>(m, "AnalogConv2dLayer")
      .def(py::init([](const txsim::nn::DevicePreset& preset, int channels, int out, int kernel, int stride, int padding,
                       uint64_t seed, int layer) {
             SerialBlas serial;
             return std::make_unique<AnalogConv2dLayer>(preset, channels, out, kernel, stride, padding, seed, layer);
           }),
           py::arg("preset"), py::arg("in_channels"), py::arg("out_channels"), py::arg("kernel"), py::arg("stride"),
           py::arg("padding"), py::arg("seed"), py::arg("layer"))
      .def_property_readonly("core", &AnalogConv2dLayer::core, py::return_value_policy::reference_internal)
      .def("forward", &AnalogConv2dLayer::forward, py::arg("x"), py::arg("train"),
           "y (N x out x OH x OW) through the crossbars; `train` keeps x for backward")
      .def("backward", &AnalogConv2dLayer::backward, py::arg("dy"), "(dx, dW) for dy, from the last training forward");
}
