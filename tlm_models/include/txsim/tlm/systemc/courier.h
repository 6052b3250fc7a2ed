// How the timed model's initiators send work: a TLM_IGNORE_COMMAND payload carrying one extension
// (a Job to a station, a Hold to a unit). One payload is reused, so a transport costs a virtual
// call and no allocation.
#pragma once

#include <systemc>
#include <tlm>

namespace txsim::hw {

class Courier {
 public:
  Courier() {
    trans_.set_command(tlm::TLM_IGNORE_COMMAND);
    trans_.set_address(0);
    trans_.set_data_ptr(nullptr);
    trans_.set_data_length(0);
  }
  // Transports `e` to `target`, adding its time to `delay`; false when the target refused it.
  template <class Extension>
  bool carry(tlm::tlm_fw_transport_if<>& target, Extension& e, sc_core::sc_time& delay) {
    trans_.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    trans_.set_extension(&e);
    target.b_transport(trans_, delay);
    trans_.clear_extension(&e);
    return trans_.is_response_ok();
  }

 private:
  tlm::tlm_generic_payload trans_;
};

}  // namespace txsim::hw
