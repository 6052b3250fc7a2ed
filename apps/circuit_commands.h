// The circuit subcommands of txsim: crossbar-solve, validate and circuit-error.
#pragma once

namespace txsim::app {

int crossbar_solve_main(int argc, char** argv);
int validate_main(int argc, char** argv);
int circuit_error_main(int argc, char** argv);

}  // namespace txsim::app
