// An example virtual platform: a host CPU running a small driver routine, a TLM router, system
// memory, and the TxSim accelerator on the bus. The driver writes the network descriptor and
// the data (IDX files) into memory, programs the accelerator's registers, starts it, waits for
// the interrupt and reads the results back: everything crosses the bus (registers and DMA).
//
//   txsim_vp --workload workloads/mlp.json --device workloads/devices/txsim_reram.json
//            --platform platforms/default.json --limit-train 2000 --limit-test 500 --out vp.json
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "txsim/config.h"
#include "txsim/nn/data.h"
#include "txsim/nn/network.h"
#include "txsim/tlm/cost_model/job_format.h"
#include "txsim/tlm/systemc/training_accelerator.h"
#include "txsim/tlm/systemc/vp.h"

namespace po = boost::program_options;
using txsim::hw::bits::kDone;
using txsim::hw::bits::kError;
using txsim::hw::bits::kStart;

namespace {

// The memory map of this platform.
constexpr uint64_t kMemoryBase = 0x0000'0000, kAcceleratorBase = 0x4000'0000;
constexpr uint64_t kDescriptorAt = 0x1000, kResultBytes = 1 << 20;

struct HostCpu : sc_core::sc_module {
  tlm_utils::simple_initiator_socket<HostCpu> bus;
  sc_core::sc_in<bool> irq;
  std::string descriptor;
  std::vector<unsigned char> data;
  uint32_t status = 0, error = 0;
  std::string results;
  bool bus_error = false;

  SC_HAS_PROCESS(HostCpu);
  explicit HostCpu(sc_core::sc_module_name n) : sc_core::sc_module(n), bus("bus"), irq("irq") { SC_THREAD(driver); }

  void access(tlm::tlm_command cmd, uint64_t address, unsigned char* p, std::size_t bytes) {
    for (std::size_t done = 0; done < bytes && !bus_error;) {
      const unsigned n = static_cast<unsigned>(std::min<std::size_t>(4096, bytes - done));
      tlm::tlm_generic_payload t;
      t.set_command(cmd);
      t.set_address(address + done);
      t.set_data_ptr(p + done);
      t.set_data_length(n);
      t.set_streaming_width(n);
      t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
      bus->b_transport(t, delay);
      wait(delay);
      if (!t.is_response_ok()) {
        std::fprintf(stderr, "txsim_vp: bus error %s at 0x%llx\n", t.get_response_string().c_str(),
                     static_cast<unsigned long long>(address + done));
        bus_error = true;
      }
      done += n;
    }
  }
  void write_reg(const char* name, uint32_t v) {
    for (const auto& r : txsim::hw::kRegisters)
      if (std::string(r.name) == name) return access(tlm::TLM_WRITE_COMMAND, kAcceleratorBase + r.offset, reinterpret_cast<unsigned char*>(&v), 4);
  }
  uint32_t read_reg(const char* name) {
    uint32_t v = 0;
    for (const auto& r : txsim::hw::kRegisters)
      if (std::string(r.name) == name) access(tlm::TLM_READ_COMMAND, kAcceleratorBase + r.offset, reinterpret_cast<unsigned char*>(&v), 4);
    return v;
  }
  void set_address(const char* prefix, uint64_t address, uint32_t size) {
    write_reg((std::string(prefix) + "_ADDR_LO").c_str(), static_cast<uint32_t>(address));
    write_reg((std::string(prefix) + "_ADDR_HI").c_str(), static_cast<uint32_t>(address >> 32));
    write_reg((std::string(prefix) + "_SIZE").c_str(), size);
  }

  // The driver routine: configure, start, wait for the interrupt, read the results.
  void driver() {
    const uint64_t data_at = (kDescriptorAt + descriptor.size() + 4095) / 4096 * 4096;
    const uint64_t result_at = (data_at + data.size() + 4095) / 4096 * 4096;
    access(tlm::TLM_WRITE_COMMAND, kMemoryBase + kDescriptorAt, reinterpret_cast<unsigned char*>(descriptor.data()), descriptor.size());
    access(tlm::TLM_WRITE_COMMAND, kMemoryBase + data_at, data.data(), data.size());
    set_address("NETWORK", kMemoryBase + kDescriptorAt, static_cast<uint32_t>(descriptor.size()));
    set_address("DATA", kMemoryBase + data_at, static_cast<uint32_t>(data.size()));
    set_address("RESULT", kMemoryBase + result_at, kResultBytes);
    write_reg("IRQ_ENABLE", kDone | kError);
    write_reg("CTRL", kStart);
    if (bus_error) return;
    wait(irq.posedge_event());
    status = read_reg("STATUS");
    error = read_reg("ERROR_CODE");
    write_reg("IRQ_STATUS", kDone | kError);  // acknowledge
    if (status & kDone) {
      std::vector<unsigned char> header(txsim::hw::kResultHeader);
      access(tlm::TLM_READ_COMMAND, kMemoryBase + result_at, header.data(), header.size());
      const uint32_t n = header[8] | header[9] << 8 | header[10] << 16 | static_cast<uint32_t>(header[11]) << 24;
      std::vector<unsigned char> region(header.size() + std::min<uint32_t>(n, kResultBytes));
      access(tlm::TLM_READ_COMMAND, kMemoryBase + result_at, region.data(), region.size());
      results = txsim::hw::unpack_result(region);
    }
  }
};

}  // namespace

int sc_main(int argc, char** argv) {
  po::options_description opts("txsim_vp: an example virtual platform training through the accelerator's registers and DMA");
  opts.add_options()("help,h", "show this help")(
      "workload", po::value<std::string>()->default_value("workloads/mlp.json"), "network and recipe (JSON)")(
      "device", po::value<std::string>()->default_value("digital"), "device preset (JSON) or digital")(
      "platform", po::value<std::string>()->default_value("platforms/default.json"), "the accelerator's platform")(
      "epochs", po::value<int>(), "override the workload's epochs")("batch", po::value<int>(), "override the batch size")(
      "lr", po::value<double>(), "override the learning rate")("seed", po::value<uint64_t>()->default_value(1), "random seed")(
      "data", po::value<std::string>()->default_value("data"), "folder holding the datasets")(
      "limit-train", po::value<int>()->default_value(0), "send only the first N training samples")(
      "limit-test", po::value<int>()->default_value(0), "send only the first N test samples")(
      "out", po::value<std::string>(), "write the results JSON here");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const txsim::hw::Platform platform = txsim::hw::load_platform(vm["platform"].as<std::string>());
    const nlohmann::json workload = txsim::read_json_file(vm["workload"].as<std::string>());
    const txsim::nn::Workload w = txsim::nn::workload_from_json(workload, vm["workload"].as<std::string>());
    nlohmann::json descriptor = {{"workload", workload}, {"seed", vm["seed"].as<uint64_t>()}};
    if (vm["device"].as<std::string>() != "digital") descriptor["device"] = txsim::read_json_file(vm["device"].as<std::string>());
    if (vm.count("epochs")) descriptor["epochs"] = vm["epochs"].as<int>();
    if (vm.count("batch")) descriptor["batch"] = vm["batch"].as<int>();
    if (vm.count("lr")) descriptor["lr"] = vm["lr"].as<double>();
    const auto files = txsim::nn::idx_files(w.dataset, vm["data"].as<std::string>());
    txsim::hw::IdxFiles idx;
    for (int i = 0; i < 4; ++i)
      idx[i] = txsim::hw::truncate_idx(txsim::nn::read_all(files[i]), vm[i < 2 ? "limit-train" : "limit-test"].as<int>());
    const std::vector<unsigned char> region = txsim::hw::pack_data_region(idx);

    setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
    HostCpu host("host");
    host.descriptor = descriptor.dump();
    host.data = region;
    const std::size_t memory_bytes = (kDescriptorAt + host.descriptor.size() + region.size() + kResultBytes + 3 * 4096);
    txsim::hw::Memory memory("memory", memory_bytes);
    txsim::hw::Router router("router");
    txsim::hw::TrainingAccelerator acc("accelerator", platform);
    sc_core::sc_signal<bool> irq("irq");
    host.bus.bind(router.in);
    acc.top.dma.bind(router.in);
    router.add_target(kMemoryBase, memory_bytes);
    router.out.bind(memory.socket);
    router.add_target(kAcceleratorBase, txsim::hw::kRegisterSpan);
    router.out.bind(acc.top.regs);
    acc.top.irq(irq);
    host.irq(irq);
    std::printf("txsim_vp: %s, %zu bytes of data in memory, accelerator at 0x%llx on platform %s\n", w.name.c_str(),
                region.size(), static_cast<unsigned long long>(kAcceleratorBase), platform.name.c_str());
    sc_core::sc_start();
    std::fputs(acc.log().c_str(), stdout);
    if (host.bus_error) return 1;
    if (!(host.status & kDone)) {
      std::fprintf(stderr, "txsim_vp: the accelerator ended with STATUS 0x%x, ERROR_CODE %u: %s\n", host.status, host.error,
                   acc.last_error().c_str());
      return 1;
    }
    const nlohmann::json r = nlohmann::json::parse(host.results);
    std::printf("interrupt at %s: DONE; final test accuracy %.2f%%, simulated training %.6g s, %.6g images/s\n",
                sc_core::sc_time_stamp().to_string().c_str(), 100 * r["final_test_accuracy"].get<double>(),
                r["hardware"]["train_seconds"].get<double>(), r["hardware"]["images_per_second"].get<double>());
    if (vm.count("out")) txsim::write_atomically(vm["out"].as<std::string>(), r.dump(2) + "\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "txsim_vp: %s\n", e.what());
    return 2;
  }
}
