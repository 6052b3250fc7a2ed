// Parts of a small virtual platform around the accelerator: system memory and an address
// router. Enough for the example platform and the tests; a real platform brings its own.
#pragma once

#include <cstdint>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_initiator_socket.h>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_target_socket.h>

namespace txsim::hw {

// Memory: `bytes` of storage; an access takes latency + length / bandwidth. Accesses beyond
// the end get TLM_ADDRESS_ERROR_RESPONSE, byte enables TLM_BYTE_ENABLE_ERROR_RESPONSE. Grants
// DMI (read and write) with the same timing per byte.
class Memory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Memory> socket;
  Memory(sc_core::sc_module_name name, std::size_t bytes, sc_core::sc_time latency = sc_core::sc_time(10, sc_core::SC_NS),
         double gbps = 12.8);
  std::vector<unsigned char>& contents() { return data_; }

 private:
  void b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& t, tlm::tlm_dmi& dmi);
  unsigned int transport_dbg(tlm::tlm_generic_payload& t);
  std::vector<unsigned char> data_;
  sc_core::sc_time latency_;
  double gbps_;
};

// Router: any number of initiators; targets at [base, base + size) in the order they are
// added (add_target, then bind out to the target in the same order). Addresses reach the
// target relative to its base; an address no target holds gets TLM_ADDRESS_ERROR_RESPONSE.
class Router : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<Router> in;
  tlm_utils::multi_passthrough_initiator_socket<Router> out;
  explicit Router(sc_core::sc_module_name name);
  void add_target(uint64_t base, uint64_t size) { ranges_.push_back({base, size}); }

 private:
  void b_transport(int id, tlm::tlm_generic_payload& t, sc_core::sc_time& delay);
  unsigned int transport_dbg(int id, tlm::tlm_generic_payload& t);
  int decode(uint64_t address, unsigned length) const;
  struct Range {
    uint64_t base, size;
  };
  std::vector<Range> ranges_;
};

}  // namespace txsim::hw
