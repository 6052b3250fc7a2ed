// SPICE netlists of one crossbar and an ngspice runner: the oracle for the circuit models, and
// what `txsim validate` compares against.
#pragma once

#include <string>
#include <vector>

#include "txsim/parasitics.h"

namespace txsim {

// The netlist of the crossbar g (rows x cols, siemens) read in `dir` with `inputs` (volts, one per
// driven line), in the geometry of parasitics.h, written independently of our solvers. Each
// sensed line ends in a 0 V source "vs<k>" whose current is printed at full precision.
std::string crossbar_netlist(const std::vector<double>& g, int rows, int cols, Direction dir, const Parasitics& p,
                             const IvModel& iv, const std::vector<double>& inputs);

// Runs `ngspice -b` on the netlist (written to `path`) and returns the sensed currents in order.
// Throws std::runtime_error with ngspice's output when it is missing, fails, or prints too few.
std::vector<double> run_ngspice(const std::string& netlist, const std::string& path, int outputs);

}  // namespace txsim
