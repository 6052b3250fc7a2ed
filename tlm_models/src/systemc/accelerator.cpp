#include "txsim/tlm/systemc/accelerator.h"

#include <algorithm>

namespace txsim::hw {

Accelerator::Accelerator(sc_core::sc_module_name name, sc_core::sc_time register_latency)
    : sc_core::sc_module(name), regs("regs"), dma("dma"), irq("irq"), latency_(register_latency) {
  regs.register_b_transport(this, &Accelerator::b_transport);
  SC_HAS_PROCESS(Accelerator);
  SC_METHOD(drive_irq);
  sensitive << irq_changed_;
  SC_THREAD(job_thread);
  set_stack_size(64 << 20);  // jobs train networks here (BLAS, OpenMP, im2col)
}

void Accelerator::drive_irq() { irq.write(file_.interrupt()); }

void Accelerator::update_irq() { irq_changed_.notify(sc_core::SC_ZERO_TIME); }

void Accelerator::finish(uint32_t error) {
  const uint32_t bit = error == errors::kNone ? bits::kDone : bits::kError;
  file_.set_hardware("STATUS", bit);
  file_.set_hardware("ERROR_CODE", error);
  file_.set_hardware("IRQ_STATUS", file_.get("IRQ_STATUS") | bit);
  update_irq();
}

void Accelerator::job_thread() {
  for (;;) {
    // A START written while an abandoned job was still unwinding is pending, not lost.
    while (!start_pending_) sc_core::wait(start_);
    start_pending_ = false;
    const uint64_t job = job_;
    running_job_ = job;
    qk_.reset();
    uint32_t error = errors::kNoRunner;
    if (runner_) {
      try {
        error = runner_();
      } catch (const JobAbandoned&) {
        // RESET: the job stopped where it was; it reports nothing.
      }
    }
    qk_.sync();
    if (job == job_) finish(error);
  }
}

bool Accelerator::transfer(tlm::tlm_command cmd, uint64_t address, unsigned char* data, std::size_t bytes) {
  for (std::size_t done = 0; done < bytes;) {
    check_abandoned();
    const unsigned n = static_cast<unsigned>(std::min(kDmaBurst, bytes - done));
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(address + done);
    t.set_data_ptr(data + done);
    t.set_data_length(n);
    t.set_streaming_width(n);
    t.set_byte_enable_ptr(nullptr);
    t.set_dmi_allowed(false);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = qk_.get_local_time();
    dma->b_transport(t, delay);
    if (!t.is_response_ok()) return false;
    qk_.set(delay);
    if (qk_.need_sync()) qk_.sync();
    done += n;
  }
  return true;
}

bool Accelerator::dma_read(uint64_t address, void* data, std::size_t bytes) {
  return transfer(tlm::TLM_READ_COMMAND, address, static_cast<unsigned char*>(data), bytes);
}

bool Accelerator::dma_write(uint64_t address, const void* data, std::size_t bytes) {
  // The payload's pointer is not const, but a write only reads it.
  return transfer(tlm::TLM_WRITE_COMMAND, address, static_cast<unsigned char*>(const_cast<void*>(data)), bytes);
}

void Accelerator::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const bool write = trans.get_command() == tlm::TLM_WRITE_COMMAND;
  const bool ignore = trans.get_command() == tlm::TLM_IGNORE_COMMAND;
  const unsigned length = trans.get_data_length();
  const bool streaming = trans.get_streaming_width() != 0 && trans.get_streaming_width() < length;
  const bool byte_enables = trans.get_byte_enable_ptr() != nullptr;
  uint32_t value = 0;
  if (write && length == 4) std::memcpy(&value, trans.get_data_ptr(), 4);
  // TLM_IGNORE_COMMAND: the checks of an access, no access (OK where a read or write would be).
  AccessResult r = streaming ? AccessResult::BurstError
                   : ignore  ? file_.check(trans.get_address(), length, byte_enables)
                             : file_.access(write, trans.get_address(), length, byte_enables, &value);
  switch (r) {
    case AccessResult::Ok: trans.set_response_status(tlm::TLM_OK_RESPONSE); break;
    case AccessResult::AddressError: trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE); return;
    case AccessResult::CommandError: trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE); return;
    case AccessResult::BurstError: trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE); return;
    case AccessResult::ByteEnableError: trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE); return;
  }
  delay += latency_;
  trans.set_dmi_allowed(false);
  if (ignore) return;
  if (!write) {
    std::memcpy(trans.get_data_ptr(), &value, 4);
    return;
  }
  if (trans.get_address() == 0x00) {  // CTRL: START and RESET act and clear themselves
    const uint32_t ctrl = file_.get("CTRL");
    file_.set_hardware("CTRL", 0);
    if (ctrl & bits::kReset) {
      if (file_.get("STATUS") & bits::kBusy) ++job_;  // the running job is abandoned
      start_pending_ = false;
      file_.set_hardware("STATUS", 0);
      file_.set_hardware("IRQ_STATUS", 0);
      file_.set_hardware("ERROR_CODE", 0);
    } else if ((ctrl & bits::kStart) && !(file_.get("STATUS") & bits::kBusy)) {
      ++job_;
      start_pending_ = true;
      file_.set_hardware("STATUS", bits::kBusy);
      file_.set_hardware("ERROR_CODE", 0);
      start_.notify(delay);  // the job starts when the write lands
    }
  }
  update_irq();
}

}  // namespace txsim::hw
