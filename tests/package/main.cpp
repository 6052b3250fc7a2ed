// Someone else's sc_main with the TxSim accelerator on its bus: the host reads the accelerator's
// STATUS, starts a job with no descriptor, and sees the ERROR interrupt with BAD_DESCRIPTOR.
#include <cstdio>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "txsim/tlm/cost_model/platform.h"
#include "txsim/tlm/cost_model/registers.h"
#include "txsim/tlm/systemc/training_accelerator.h"
#include "txsim/tlm/systemc/vp.h"

struct Cpu : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Cpu> bus{"bus"};
  sc_core::sc_in<bool> irq{"irq"};
  int result = 1;
  SC_HAS_PROCESS(Cpu);
  explicit Cpu(sc_core::sc_module_name n) : sc_core::sc_module(n) { SC_THREAD(run); }
  uint32_t access(tlm::tlm_command cmd, uint64_t a, uint32_t v = 0) {
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(a);
    t.set_data_ptr(reinterpret_cast<unsigned char*>(&v));
    t.set_data_length(4);
    t.set_streaming_width(4);
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    bus->b_transport(t, d);
    wait(d);
    return t.is_response_ok() ? v : 0xFFFFFFFFu;
  }
  void run() {
    using namespace txsim::hw;
    access(tlm::TLM_WRITE_COMMAND, 0x08, bits::kDone | bits::kError);  // IRQ_ENABLE
    access(tlm::TLM_WRITE_COMMAND, 0x00, bits::kStart);                // CTRL.START, NETWORK_SIZE 0
    wait(irq.posedge_event());
    const uint32_t status = access(tlm::TLM_READ_COMMAND, 0x04), code = access(tlm::TLM_READ_COMMAND, 0x3C);
    std::printf("STATUS 0x%x ERROR_CODE %u at %s\n", status, code, sc_core::sc_time_stamp().to_string().c_str());
    result = (status == bits::kError && code == errors::kBadDescriptor) ? 0 : 1;
  }
};

int sc_main(int, char**) {
  txsim::hw::Platform platform;  // the defaults (ISAAC-like); or txsim::hw::load_platform("isaac.json")
  platform.name = "defaults";
  Cpu cpu("cpu");
  txsim::hw::TrainingAccelerator acc("txsim", platform);
  txsim::hw::Memory memory("memory", 1 << 16);
  sc_core::sc_signal<bool> irq("irq");
  cpu.bus.bind(acc.top.regs);
  acc.top.dma.bind(memory.socket);
  acc.top.irq(irq);
  cpu.irq(irq);
  sc_core::sc_start();
  return cpu.result;
}
