#include "txsim/tlm/accelerator.h"

namespace txsim::hw {

Accelerator::Accelerator(sc_core::sc_module_name name, sc_core::sc_time register_latency)
    : sc_core::sc_module(name), regs("regs"), irq("irq"), latency_(register_latency) {
  regs.register_b_transport(this, &Accelerator::b_transport);
  SC_HAS_PROCESS(Accelerator);
  SC_METHOD(drive_irq);
  sensitive << irq_changed_;
}

void Accelerator::drive_irq() { irq.write(file_.interrupt()); }

void Accelerator::update_irq() { irq_changed_.notify(sc_core::SC_ZERO_TIME); }

void Accelerator::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const bool write = trans.get_command() == tlm::TLM_WRITE_COMMAND;
  if (!write && trans.get_command() != tlm::TLM_READ_COMMAND) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  const unsigned length = trans.get_data_length();
  const bool streaming = trans.get_streaming_width() != 0 && trans.get_streaming_width() < length;
  uint32_t value = 0;
  if (write && length == 4) std::memcpy(&value, trans.get_data_ptr(), 4);
  AccessResult r = streaming ? AccessResult::BurstError
                             : file_.access(write, trans.get_address(), length, trans.get_byte_enable_ptr() != nullptr, &value);
  switch (r) {
    case AccessResult::Ok: trans.set_response_status(tlm::TLM_OK_RESPONSE); break;
    case AccessResult::AddressError: trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE); return;
    case AccessResult::CommandError: trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE); return;
    case AccessResult::BurstError: trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE); return;
    case AccessResult::ByteEnableError: trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE); return;
  }
  delay += latency_;
  trans.set_dmi_allowed(false);
  if (!write) {
    std::memcpy(trans.get_data_ptr(), &value, 4);
    return;
  }
  if (trans.get_address() == 0x00) {  // CTRL: START and RESET act and clear themselves
    const uint32_t ctrl = file_.get("CTRL");
    file_.set_hardware("CTRL", 0);
    if (ctrl & bits::kReset) {
      file_.set_hardware("STATUS", 0);
      file_.set_hardware("IRQ_STATUS", 0);
      file_.set_hardware("ERROR_CODE", 0);
    } else if (ctrl & bits::kStart) {
      if (runner_) {
        runner_(file_);
      } else {
        file_.set_hardware("STATUS", bits::kError);
        file_.set_hardware("ERROR_CODE", kNoRunner);
        file_.set_hardware("IRQ_STATUS", file_.get("IRQ_STATUS") | bits::kError);
      }
    }
  }
  update_irq();
}

}  // namespace txsim::hw
