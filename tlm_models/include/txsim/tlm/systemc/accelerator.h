// The accelerator's SystemC top, as a virtual platform sees it: a TLM-2.0 target socket for the
// registers (kRegisters), a DMA initiator socket into system memory, and an interrupt output.
// Register accesses are loosely timed: each adds `register_latency` to the transaction's delay.
// Anything but an aligned 32-bit single access to a register in the map gets the matching TLM
// error response and changes nothing (TLM_IGNORE_COMMAND gets the same checks and no access). A
// write of CTRL.START sets STATUS.BUSY and wakes the job thread, which runs the job runner; it
// ends with STATUS.DONE, or STATUS.ERROR and ERROR_CODE, and the matching IRQ_STATUS bit (the
// line rises when IRQ_ENABLE has it). START while BUSY is ignored. RESET abandons a running job:
// STATUS, IRQ_STATUS and ERROR_CODE read 0 at once, the job stops at its next DMA transfer or
// check_abandoned() and reports nothing; a START after the RESET runs a new job.
#pragma once

#include <cstring>
#include <functional>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <tlm_utils/tlm_quantumkeeper.h>

#include "txsim/tlm/cost_model/registers.h"

namespace txsim::hw {

// Thrown inside a job (by check_abandoned, DMA, or the runner) when RESET abandoned it.
struct JobAbandoned {};

class Accelerator : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Accelerator> regs;
  tlm_utils::simple_initiator_socket<Accelerator> dma;
  sc_core::sc_out<bool> irq;

  Accelerator(sc_core::sc_module_name name, sc_core::sc_time register_latency = sc_core::sc_time(1, sc_core::SC_NS));

  // The job: runs in the accelerator's job thread (it may wait and use dma_read/dma_write) and
  // returns 0 or an error code (errors::). Without one, START fails with errors::kNoRunner.
  void set_runner(std::function<uint32_t()> runner) { runner_ = std::move(runner); }
  RegisterFile& registers() { return file_; }

  // DMA through the initiator socket in bursts of up to kDmaBurst bytes; time advances by the
  // memory's delays (quantum keeper). False when the memory answers with an error.
  bool dma_read(uint64_t address, void* data, std::size_t bytes);
  bool dma_write(uint64_t address, const void* data, std::size_t bytes);
  void dma_sync() { qk_.sync(); }
  // Inside a job: throws JobAbandoned once RESET has abandoned it (the job thread catches it;
  // the job writes nothing more and raises no interrupt). DMA transfers check it themselves.
  void check_abandoned() const {
    if (running_job_ != job_) throw JobAbandoned{};
  }
  static constexpr std::size_t kDmaBurst = 4096;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  void update_irq();
  void drive_irq();
  void job_thread();
  bool transfer(tlm::tlm_command cmd, uint64_t address, unsigned char* data, std::size_t bytes);
  void finish(uint32_t error);

  RegisterFile file_;
  sc_core::sc_time latency_;
  std::function<uint32_t()> runner_;
  sc_core::sc_event irq_changed_, start_;
  uint64_t job_ = 0;          // the job STATUS describes; RESET of a running job moves it on
  uint64_t running_job_ = 0;  // the job the job thread runs
  bool start_pending_ = false;
  tlm_utils::tlm_quantumkeeper qk_;
};

}  // namespace txsim::hw
