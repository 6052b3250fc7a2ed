// txsim platform FILE: what a platform can do at best (peak throughput at its native precision),
// its area and power by component, and its figures of merit, as a table or JSON.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "txsim/tlm/cost_model/platform.h"

namespace txsim::app {
int platform_main(int argc, char** argv);

// A platform file with the command line's --platform-set assignments applied (PATH=VALUE, in
// order); `as_loaded`, when given, receives its JSON after them (what a checkpoint records).
hw::Platform platform_with_sets(const std::string& path, const std::vector<std::string>& sets, nlohmann::json* as_loaded = nullptr);
}  // namespace txsim::app
