// txsim train: a workload on a device preset, with metrics, checkpoints and the ideal reference.
#pragma once

namespace txsim::app {
int train_main(int argc, char** argv);
}
