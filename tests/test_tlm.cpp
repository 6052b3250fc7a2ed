// The SystemC side: one process per test (gtest_discover_tests), since a process elaborates once.
// Every SystemC warning or error fails the running test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "txsim/tlm/systemc/accelerator.h"
#include "txsim/tlm/cost_model/registers.h"
#include "txsim/tlm/systemc/ns_time.h"
#include "txsim/tlm/systemc/vp.h"

namespace txsim::hw {
namespace {

// A bare initiator: the test body drives its socket between sc_start calls.
struct Host : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<Host> socket;
  explicit Host(sc_core::sc_module_name n) : sc_core::sc_module(n), socket("socket") {}

  tlm::tlm_response_status access(tlm::tlm_command cmd, uint64_t address, uint32_t* value, unsigned length = 4,
                                  unsigned char* byte_enables = nullptr, sc_core::sc_time* delay_out = nullptr) {
    std::vector<unsigned char> data(std::max(4u, length), 0);
    if (cmd == tlm::TLM_WRITE_COMMAND) std::memcpy(data.data(), value, 4);
    tlm::tlm_generic_payload t;
    t.set_command(cmd);
    t.set_address(address);
    t.set_data_ptr(data.data());
    t.set_data_length(length);
    t.set_streaming_width(length);
    t.set_byte_enable_ptr(byte_enables);
    t.set_byte_enable_length(byte_enables ? length : 0);
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(t, delay);
    if (delay_out) *delay_out = delay;
    if (cmd == tlm::TLM_READ_COMMAND && t.is_response_ok()) std::memcpy(value, data.data(), 4);
    return t.get_response_status();
  }
  uint32_t read(uint64_t address) {
    uint32_t v = 0;
    EXPECT_EQ(access(tlm::TLM_READ_COMMAND, address, &v), tlm::TLM_OK_RESPONSE) << address;
    return v;
  }
  void write(uint64_t address, uint32_t v) {
    EXPECT_EQ(access(tlm::TLM_WRITE_COMMAND, address, &v), tlm::TLM_OK_RESPONSE) << address;
  }
};

struct Bench {
  Host host{"host"};
  Accelerator acc{"acc"};
  Memory memory{"memory", 1 << 16};
  sc_core::sc_signal<bool> irq{"irq"};
  Bench() {
    host.socket.bind(acc.regs);
    acc.dma.bind(memory.socket);
    acc.irq(irq);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);  // elaborate
  }
};

TEST(TlmRegisters, ReadWriteRulesAndLatency) {
  Bench b;
  sc_core::sc_time delay;
  uint32_t v = 0x12345678;
  EXPECT_EQ(b.host.access(tlm::TLM_WRITE_COMMAND, 0x20, &v, 4, nullptr, &delay), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(delay, sc_core::sc_time(1, sc_core::SC_NS));
  EXPECT_EQ(b.host.read(0x20), 0x12345678u);
  b.host.write(0x24, 0x9);
  EXPECT_EQ(b.acc.registers().address("DATA_ADDR_LO"), 0x912345678ull);
  // Read-only STATUS refuses writes and keeps its value.
  v = 1;
  EXPECT_EQ(b.host.access(tlm::TLM_WRITE_COMMAND, 0x04, &v), tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(b.host.read(0x04), 0u);
  // Reserved bits of IRQ_ENABLE refuse the write.
  v = 0x80;
  EXPECT_EQ(b.host.access(tlm::TLM_WRITE_COMMAND, 0x08, &v), tlm::TLM_COMMAND_ERROR_RESPONSE);
  EXPECT_EQ(b.host.read(0x08), 0u);
}

TEST(TlmRegisters, WrongAddressesSizesAndCommandsGetTlmErrors) {
  Bench b;
  uint32_t v = 0;
  EXPECT_EQ(b.host.access(tlm::TLM_READ_COMMAND, 0x02, &v), tlm::TLM_ADDRESS_ERROR_RESPONSE);   // unaligned
  EXPECT_EQ(b.host.access(tlm::TLM_READ_COMMAND, 0x1C, &v), tlm::TLM_ADDRESS_ERROR_RESPONSE);   // a hole
  EXPECT_EQ(b.host.access(tlm::TLM_READ_COMMAND, 0x40, &v), tlm::TLM_ADDRESS_ERROR_RESPONSE);   // past the map
  EXPECT_EQ(b.host.access(tlm::TLM_READ_COMMAND, 0x00, &v, 2), tlm::TLM_BURST_ERROR_RESPONSE);  // 16-bit
  EXPECT_EQ(b.host.access(tlm::TLM_READ_COMMAND, 0x00, &v, 8), tlm::TLM_BURST_ERROR_RESPONSE);    // two registers
  unsigned char enables[4] = {0xFF, 0, 0xFF, 0xFF};
  EXPECT_EQ(b.host.access(tlm::TLM_WRITE_COMMAND, 0x10, &v, 4, enables), tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
  EXPECT_EQ(b.host.access(tlm::TLM_IGNORE_COMMAND, 0x1C, &v), tlm::TLM_ADDRESS_ERROR_RESPONSE);  // ignore at a hole
}

// Defect 4 of issue 17 (IEEE 1666-2011, 14.17): a data length the target cannot handle is
// TLM_BURST_ERROR_RESPONSE, aligned 1- and 2-byte accesses included (they answered
// ADDRESS_ERROR); TLM_IGNORE_COMMAND at a register the map has is an access that does nothing,
// TLM_OK_RESPONSE (it answered COMMAND_ERROR), and changes nothing.
TEST(Issue17Defect4Tlm, ShortAccessesAreBurstErrorsAndIgnoreIsOk) {
  Bench b;
  uint32_t v = 0;
  for (unsigned length : {1u, 2u, 3u})
    for (uint64_t a : {0x00ull, 0x10ull, 0x38ull}) {
      EXPECT_EQ(b.host.access(tlm::TLM_READ_COMMAND, a, &v, length), tlm::TLM_BURST_ERROR_RESPONSE) << length << " bytes at " << a;
      EXPECT_EQ(b.host.access(tlm::TLM_WRITE_COMMAND, a, &v, length), tlm::TLM_BURST_ERROR_RESPONSE) << length << " bytes at " << a;
    }
  b.host.write(0x10, 0x1234);
  v = 0xFFFF;
  EXPECT_EQ(b.host.access(tlm::TLM_IGNORE_COMMAND, 0x10, &v), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(b.host.read(0x10), 0x1234u);  // nothing written
  v = bits::kStart;
  EXPECT_EQ(b.host.access(tlm::TLM_IGNORE_COMMAND, 0x00, &v), tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(b.host.read(0x04), 0u);  // nothing started
}

// A job that takes simulated time: `bursts` DMA reads of 4 KiB, then it writes its number at
// 0x100 of memory and returns NONE.
struct SlowJobs {
  Accelerator& acc;
  int started = 0, finished = 0;
  void install(int bursts) {
    acc.set_runner([this, bursts] {
      const uint32_t number = static_cast<uint32_t>(++started);
      std::vector<unsigned char> buf(Accelerator::kDmaBurst);
      for (int i = 0; i < bursts; ++i)
        if (!acc.dma_read(0, buf.data(), buf.size())) return errors::kDmaError;
      acc.dma_write(0x100, &number, 4);
      ++finished;
      return errors::kNone;
    });
  }
};

// Defect 4 of issue 17: RESET abandoned nothing (STATUS read 0 while the job ran on, a START
// after RESET was lost and DONE then reported the old job for the new one). Now RESET stops the
// job at its next DMA transfer, it writes nothing and raises no interrupt; a START after the
// RESET runs a new job whose DONE is its own; START while BUSY is ignored.
TEST(Issue17Defect4Tlm, ResetAbandonsTheRunningJobAndStartAfterItRunsANewOne) {
  Bench b;
  SlowJobs jobs{b.acc};
  jobs.install(200);  // 200 bursts of 4 KiB at 12.8 GB/s: about 66 us
  b.host.write(0x08, bits::kDone | bits::kError);
  b.host.write(0x00, bits::kStart);
  sc_core::sc_start(sc_core::sc_time(5, sc_core::SC_US));
  EXPECT_EQ(b.host.read(0x04), bits::kBusy);
  b.host.write(0x00, bits::kStart);  // while BUSY: ignored
  sc_core::sc_start(sc_core::sc_time(5, sc_core::SC_US));
  EXPECT_EQ(jobs.started, 1);
  b.host.write(0x00, bits::kReset);
  EXPECT_EQ(b.host.read(0x04), 0u);
  b.host.write(0x00, bits::kStart);  // a new job, at once
  EXPECT_EQ(b.host.read(0x04), bits::kBusy);
  sc_core::sc_start(sc_core::sc_time(20, sc_core::SC_US));
  EXPECT_EQ(jobs.started, 2);   // the abandoned job stopped, the new one runs
  EXPECT_EQ(jobs.finished, 0);
  EXPECT_FALSE(b.irq.read());
  EXPECT_EQ(b.host.read(0x04), bits::kBusy);
  sc_core::sc_start(sc_core::sc_time(200, sc_core::SC_US));
  EXPECT_EQ(jobs.finished, 1);  // only the new job ran to its end
  EXPECT_EQ(b.host.read(0x04), bits::kDone);
  EXPECT_EQ(b.host.read(0x0C), bits::kDone);
  EXPECT_TRUE(b.irq.read());
  uint32_t written = 0;
  std::memcpy(&written, b.memory.contents().data() + 0x100, 4);
  EXPECT_EQ(written, 2u);  // the result in memory is the second job's
  // RESET of a finished job clears it; RESET while idle changes nothing else.
  b.host.write(0x00, bits::kReset);
  EXPECT_EQ(b.host.read(0x04), 0u);
  EXPECT_EQ(b.host.read(0x0C), 0u);
  sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_NS));
  EXPECT_FALSE(b.irq.read());
}

// A DMA that system memory refuses ends the job with ERROR and DMA_ERROR (the runner's code).
TEST(Issue17Defect4Tlm, DmaBeyondMemoryEndsWithDmaError) {
  Bench b;
  b.acc.set_runner([&] {
    unsigned char buf[16];
    return b.acc.dma_read(1 << 20, buf, sizeof buf) ? errors::kNone : errors::kDmaError;  // memory holds 64 KiB
  });
  b.host.write(0x00, bits::kStart);
  sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_US));
  EXPECT_EQ(b.host.read(0x04), bits::kError);
  EXPECT_EQ(b.host.read(0x3C), errors::kDmaError);
}

// START sets BUSY at once; the job thread then finds no runner and ends the job with ERROR;
// the enabled interrupt raises the line; writing 1 to IRQ_STATUS clears it and drops the line;
// RESET clears STATUS.
TEST(TlmRegisters, InterruptLineFollowsEnabledPendingBits) {
  Bench b;
  b.host.write(0x08, bits::kError);
  b.host.write(0x00, bits::kStart);
  EXPECT_EQ(b.host.read(0x04), bits::kBusy);
  EXPECT_FALSE(b.irq.read());
  sc_core::sc_start(sc_core::sc_time(10, sc_core::SC_NS));
  EXPECT_EQ(b.host.read(0x04), bits::kError);
  EXPECT_EQ(b.host.read(0x3C), errors::kNoRunner);
  EXPECT_EQ(b.host.read(0x00), 0u);  // START clears itself
  EXPECT_TRUE(b.irq.read());
  b.host.write(0x0C, bits::kError);
  sc_core::sc_start(sc_core::sc_time(1, sc_core::SC_NS));
  EXPECT_FALSE(b.irq.read());
  b.host.write(0x00, bits::kReset);
  EXPECT_EQ(b.host.read(0x04), 0u);
  EXPECT_EQ(b.host.read(0x3C), 0u);
}

TEST(TlmRegisters, MapTableIsConsistent) {
  for (std::size_t i = 0; i < kRegisters.size(); ++i) {
    EXPECT_EQ(kRegisters[i].offset % 4, 0u) << kRegisters[i].name;
    EXPECT_LT(kRegisters[i].offset, kRegisterSpan) << kRegisters[i].name;
    if (i > 0) {
      EXPECT_GT(kRegisters[i].offset, kRegisters[i - 1].offset) << kRegisters[i].name;
    }
    const std::string name = kRegisters[i].name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, "_LO") == 0) {  // address() reads HI next
      ASSERT_LT(i + 1, kRegisters.size());
      EXPECT_EQ(std::string(kRegisters[i + 1].name), name.substr(0, name.size() - 3) + "_HI");
      EXPECT_EQ(kRegisters[i + 1].offset, kRegisters[i].offset + 4);
    }
  }
  EXPECT_NE(register_map_markdown().find("| 0x0C | IRQ_STATUS | W1C |"), std::string::npos);
}

}  // namespace
}  // namespace txsim::hw

// SystemC warnings and errors fail the test that caused them.
void fail_on_report(const sc_core::sc_report& r, const sc_core::sc_actions& actions) {
  if (r.get_severity() >= sc_core::SC_WARNING) ADD_FAILURE() << "SystemC " << r.get_msg_type() << ": " << r.get_msg();
  if (r.get_severity() == sc_core::SC_INFO) sc_core::sc_report_handler::default_handler(r, actions);
}

int sc_main(int argc, char** argv) {
  sc_core::sc_report_handler::set_handler(fail_on_report);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

// The timed model's fast ns-to-sc_time conversion against SystemC's own constructor (the
// oracle), on log-uniform values from 1e-4 to 1e10 ns and on values a hair either side of half a
// tick, where the rounding decides.
TEST(NsTimeConversion, EqualsTheSystemCConstructorOnEveryValue) {
  ASSERT_TRUE(txsim::hw::NsTime::reproduces_systemc());  // else the comparison below is the constructor's with itself
  txsim::hw::NsTime convert;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-4, 10);
  const double tick_ns = sc_core::sc_get_time_resolution().to_seconds() * 1e9;
  for (int i = 0; i < 200000; ++i) {
    const double ns = std::pow(10.0, exponent(rng));
    ASSERT_EQ(convert(ns).value(), sc_core::sc_time(ns, sc_core::SC_NS).value()) << ns;
    const double half = (std::floor(ns / tick_ns) + 0.5) * tick_ns;
    for (double v : {std::nextafter(half, 0.0), half, std::nextafter(half, 1e300)})
      ASSERT_EQ(convert(v).value(), sc_core::sc_time(v, sc_core::SC_NS).value()) << v;
  }
  EXPECT_EQ(convert(0).value(), 0u);
}
