// SystemC elaborates one design per process and simulates it once: several timed runs in one
// process (txsim time on many platforms, txsim.time from Python) each run in a child of their own.
#pragma once

#include <functional>
#include <string>

namespace txsim::hw {

// Runs `work` in a forked child and returns the bytes it returned. The child's ConfigError and
// StateError come back as the same types, any other exception as std::runtime_error with its
// message; a child that dies (a signal, an exit) is a std::runtime_error saying how. The child
// ends with _exit: it flushes no stdio buffer of the parent's and runs no destructor of the
// parent's objects.
std::string run_in_child_process(const std::function<std::string()>& work);

}  // namespace txsim::hw
