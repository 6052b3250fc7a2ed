// The accelerator's SystemC top, as a virtual platform sees it: a TLM-2.0 target socket for the
// registers (kRegisters), and an interrupt output. Register accesses are loosely timed: each
// adds `register_latency` to the transaction's delay. Anything but an aligned 32-bit single
// access to a register in the map gets the matching TLM error response and changes nothing.
#pragma once

#include <cstring>
#include <functional>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "txsim/tlm/registers.h"

namespace txsim::hw {

class Accelerator : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Accelerator> regs;
  sc_core::sc_out<bool> irq;

  Accelerator(sc_core::sc_module_name name, sc_core::sc_time register_latency = sc_core::sc_time(1, sc_core::SC_NS));

  // The job runner (the controller) is called on a write of CTRL.START; without one, START ends
  // the job at once with STATUS.ERROR and ERROR_CODE kNoRunner.
  void set_runner(std::function<void(RegisterFile&)> runner) { runner_ = std::move(runner); }
  RegisterFile& registers() { return file_; }
  static constexpr uint32_t kNoRunner = 1;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void update_irq();

  RegisterFile file_;
  sc_core::sc_time latency_;
  std::function<void(RegisterFile&)> runner_;
  sc_core::sc_event irq_changed_;
  void drive_irq();
};

}  // namespace txsim::hw
