// What the txsim subcommands share: option parsing that lets --help through without the required
// options, and one place that turns exceptions into messages and exit statuses.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <stdexcept>

#include <boost/program_options.hpp>

namespace txsim::app {

// A bad command line: exit status 2, like a Boost option error.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline boost::program_options::variables_map parse(int argc, char** argv,
                                                   const boost::program_options::options_description& opts) {
  boost::program_options::variables_map vm;
  boost::program_options::store(boost::program_options::parse_command_line(argc, argv, opts), vm);
  if (vm.count("help")) return vm;
  boost::program_options::notify(vm);
  return vm;
}

// The same with positional arguments (e.g. txsim sweep SPEC).
inline boost::program_options::variables_map parse(int argc, char** argv,
                                                   const boost::program_options::options_description& opts,
                                                   const boost::program_options::positional_options_description& pos) {
  boost::program_options::variables_map vm;
  boost::program_options::store(
      boost::program_options::command_line_parser(argc, argv).options(opts).positional(pos).run(), vm);
  if (vm.count("help")) return vm;
  boost::program_options::notify(vm);
  return vm;
}

// --seed: decimal digits only (Boost reads "-1" as 2^64 - 1 for an unsigned option).
inline uint64_t seed_option(const boost::program_options::variables_map& vm) {
  const std::string s = vm["seed"].as<std::string>();
  const bool digits = !s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long v = digits ? std::strtoull(s.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE) throw UsageError("--seed '" + s + "': accepted a whole number in 0..18446744073709551615");
  return v;
}

// An integer option that must lie in [lo, hi].
inline int int_option(const boost::program_options::variables_map& vm, const char* name, int lo, int hi, const char* meaning) {
  const int v = vm[name].as<int>();
  if (v < lo || v > hi)
    throw UsageError(std::string("--") + name + " " + std::to_string(v) + ": accepted " + std::to_string(lo) + ".." + std::to_string(hi) +
                     " (" + meaning + ")");
  return v;
}

// Runs body(); option errors print the usage (status 2), usage errors status 2, others status 1.
template <class F>
int guarded(const char* command, const boost::program_options::options_description& opts, F&& body) {
  try {
    return body();
  } catch (const boost::program_options::error& e) {
    std::cerr << "txsim " << command << ": " << e.what() << "\n" << opts << "\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "txsim " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "txsim " << command << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace txsim::app
