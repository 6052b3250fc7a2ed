// The accelerator that trains: the register/DMA/interrupt top (Accelerator) with the timed chip
// behind it. START reads the network descriptor and the data region by DMA (job_format.h),
// trains on the chip (the same functional core and timed model as `txsim train --platform`),
// writes the results by DMA and ends with DONE, or ERROR and an ERROR_CODE (errors::).
//
//   txsim::hw::TrainingAccelerator acc("acc", platform);  // the platform outlives it
//   bus_initiator.bind(acc.top.regs);  acc.top.dma.bind(bus_target);  acc.top.irq(irq_signal);
#pragma once

#include <string>

#include "txsim/tlm/systemc/accelerator.h"
#include "txsim/tlm/systemc/timed.h"

namespace txsim::hw {

class TrainingAccelerator : public sc_core::sc_module {
 public:
  Accelerator top;
  Chip chip;
  TrainingAccelerator(sc_core::sc_module_name name, const Platform& platform);
  // Why the last job failed, in words (empty after a job that succeeded).
  const std::string& last_error() const { return error_; }
  // The training log of the last job (epoch lines).
  std::string log() const { return log_; }

 private:
  uint32_t run();
  uint32_t fail(uint32_t code, const std::string& why);
  const Platform& p_;
  std::string error_, log_;
};

}  // namespace txsim::hw
