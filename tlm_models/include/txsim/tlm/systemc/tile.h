// A tile: its PEs' crossbars and ADC banks (one of each per PE), the tile buffer's port, the
// digital unit and the programming drivers, each a unit that keeps when it is free. A read holds
// the PEs that hold the job's crossbars (arrays and ADC banks side by side: the conversions are
// pipelined beside the reads) and the buffer port (streamed beside them: double buffering).
#pragma once

#include <vector>

#include "txsim/tlm/systemc/station.h"

namespace txsim::hw {

class Tile final : public Station {
 public:
  Tile(sc_core::sc_module_name name, const Platform& p, std::vector<UnitRecord>* records, int index);

 protected:
  sc_core::sc_time serve(Job& job, sc_core::sc_time at) override;

 private:
  int index_;
  std::vector<int> pes_, adc_banks_;  // unit_port indices
  int buffer_port_, digital_, programming_;
};

}  // namespace txsim::hw
