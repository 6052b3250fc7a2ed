// The C++ convolution layer (nn::Conv2d, the CLI's own) on an analog core, for AnalogConv2d
// (part of txsim._core): its patches made in C++ a block at a time as the read needs them.
#pragma once

#include <pybind11/pybind11.h>

void bind_conv2d(pybind11::module_& m);
