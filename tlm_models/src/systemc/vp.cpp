#include "txsim/tlm/systemc/vp.h"

#include <cstring>

namespace txsim::hw {

Memory::Memory(sc_core::sc_module_name name, std::size_t bytes, sc_core::sc_time latency, double gbps)
    : sc_core::sc_module(name), socket("socket"), data_(bytes, 0), latency_(latency), gbps_(gbps) {
  socket.register_b_transport(this, &Memory::b_transport);
  socket.register_get_direct_mem_ptr(this, &Memory::get_direct_mem_ptr);
  socket.register_transport_dbg(this, &Memory::transport_dbg);
}

void Memory::b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
  const uint64_t a = t.get_address();
  const unsigned n = t.get_data_length();
  if (a > data_.size() || n > data_.size() - a) {
    t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  if (t.get_byte_enable_ptr()) {
    t.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return;
  }
  if (t.get_streaming_width() < n) {
    t.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return;
  }
  if (t.is_read()) std::memcpy(t.get_data_ptr(), data_.data() + a, n);
  else if (t.is_write()) std::memcpy(data_.data() + a, t.get_data_ptr(), n);
  else if (t.get_command() != tlm::TLM_IGNORE_COMMAND) {  // ignore: the checks above, no access
    t.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  delay += latency_ + sc_core::sc_time(n / gbps_, sc_core::SC_NS);
  t.set_dmi_allowed(true);
  t.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool Memory::get_direct_mem_ptr(tlm::tlm_generic_payload&, tlm::tlm_dmi& dmi) {
  dmi.allow_read_write();
  dmi.set_dmi_ptr(data_.data());
  dmi.set_start_address(0);
  dmi.set_end_address(data_.size() - 1);
  dmi.set_read_latency(sc_core::sc_time(1 / gbps_, sc_core::SC_NS));
  dmi.set_write_latency(sc_core::sc_time(1 / gbps_, sc_core::SC_NS));
  return true;
}

unsigned int Memory::transport_dbg(tlm::tlm_generic_payload& t) {
  const uint64_t a = t.get_address();
  if (a >= data_.size()) return 0;
  const unsigned n = static_cast<unsigned>(std::min<uint64_t>(t.get_data_length(), data_.size() - a));
  if (t.is_read()) std::memcpy(t.get_data_ptr(), data_.data() + a, n);
  else if (t.is_write()) std::memcpy(data_.data() + a, t.get_data_ptr(), n);
  return n;
}

Router::Router(sc_core::sc_module_name name) : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &Router::b_transport);
  in.register_transport_dbg(this, &Router::transport_dbg);
}

int Router::decode(uint64_t address, unsigned length) const {
  for (std::size_t i = 0; i < ranges_.size(); ++i)
    if (address >= ranges_[i].base && address - ranges_[i].base < ranges_[i].size && length <= ranges_[i].size - (address - ranges_[i].base))
      return static_cast<int>(i);
  return -1;
}

void Router::b_transport(int, tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
  const uint64_t a = t.get_address();
  const int target = decode(a, t.get_data_length());
  if (target < 0) {
    t.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return;
  }
  t.set_address(a - ranges_[target].base);
  out[target]->b_transport(t, delay);
  t.set_address(a);
  t.set_dmi_allowed(false);  // DMI regions would need translating back: not offered through here
}

unsigned int Router::transport_dbg(int, tlm::tlm_generic_payload& t) {
  const uint64_t a = t.get_address();
  const int target = decode(a, 1);
  if (target < 0) return 0;
  t.set_address(a - ranges_[target].base);
  const unsigned n = out[target]->transport_dbg(t);
  t.set_address(a);
  return n;
}

}  // namespace txsim::hw
