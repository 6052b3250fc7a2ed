// txsim sweep SPEC: a grid of training runs, locally or under mpirun (see sweep.h for SPEC).
#pragma once

namespace txsim::app {
int sweep_main(int argc, char** argv);
}
