#include "platform_command.h"
#include "command_util.h"

#include <iostream>
#include <string>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "txsim/tlm/cost_model/peak.h"
#include "txsim/tlm/cost_model/platform.h"

namespace po = boost::program_options;

namespace txsim::app {

int platform_main(int argc, char** argv) {
  po::options_description opts(
      "txsim platform FILE: a platform's peak throughput (ops/s at its native precision, chip.native), area and power\n"
      "by component (power at peak: leakage plus each unit's energy per operation at its full rate), TOPS/mm2 and\n"
      "TOPS/W");
  opts.add_options()("help,h", "show this help")("file", po::value<std::string>()->required(), "platform JSON")(
      "json", "print JSON instead of a table");
  po::positional_options_description positional;
  positional.add("file", 1);
  return guarded("platform", opts, [&] {
    const po::variables_map vm = parse(argc, argv, opts, positional);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const hw::PeakReport r = hw::peak_report(hw::load_platform(vm["file"].as<std::string>()));
    if (vm.count("json"))
      std::cout << hw::to_json(r).dump(2) << "\n";
    else
      std::cout << hw::peak_table(r);
    return 0;
  });
}

}  // namespace txsim::app
