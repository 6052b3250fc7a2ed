// txsim make-data: a synthetic dataset written in CIFAR-10's binary format, for timing runs of the
// CIFAR workloads (and pipeline checks) where the real images are not installed.
#pragma once

namespace txsim::app {
int make_data_main(int argc, char** argv);
}
