// Activity records and the timed model for Python (part of txsim._core): a recorder the torch
// front end reports a model's batches and layer-phases to, the record's file, device presets on a
// platform's crossbars, and the timed model charging a record on a platform.
#pragma once

#include <pybind11/pybind11.h>

void bind_activity(pybind11::module_& m);
