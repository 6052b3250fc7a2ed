// txsim platform FILE: what a platform can do at best (peak throughput at its native precision),
// its area and power by component, and its figures of merit, as a table or JSON.
#pragma once

namespace txsim::app {
int platform_main(int argc, char** argv);
}
