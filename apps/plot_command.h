// txsim plot CSV: a sweep's results as gnuplot figures (PNG, SVG) and a Markdown table.
#pragma once

namespace txsim::app {
int plot_main(int argc, char** argv);
}
