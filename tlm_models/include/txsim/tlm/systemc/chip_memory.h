// The chip-level stations beside the tiles: the global buffer (one port), the off-chip port
// (its DRAM channels side by side, each with its interface: a transfer is striped over all of
// them) and the dedicated weight-gradient unit (chip.weight_gradient.unit "dedicated").
#pragma once

#include <vector>

#include "txsim/tlm/systemc/station.h"

namespace txsim::hw {

class GlobalBuffer final : public Station {
 public:
  GlobalBuffer(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records);

 protected:
  sc_core::sc_time serve(Job& job, sc_core::sc_time at) override;

 private:
  int port_;
};

class OffChipPort final : public Station {
 public:
  OffChipPort(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records);

 protected:
  sc_core::sc_time serve(Job& job, sc_core::sc_time at) override;

 private:
  std::vector<int> channels_;
};

class GradientEngine final : public Station {
 public:
  GradientEngine(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records);

 protected:
  sc_core::sc_time serve(Job& job, sc_core::sc_time at) override;

 private:
  int engine_ = -1;
};

}  // namespace txsim::hw
