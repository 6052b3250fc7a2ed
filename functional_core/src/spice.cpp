#include "txsim/spice.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace txsim {

std::string crossbar_netlist(const std::vector<double>& g, int rows, int cols, Direction dir, const Parasitics& p,
                             const IvModel& iv, const std::vector<double>& inputs) {
  const bool fwd = dir == Direction::Forward;
  const int driven = fwd ? rows : cols, sensed = fwd ? cols : rows;
  if (static_cast<int>(inputs.size()) != driven) throw std::invalid_argument("crossbar_netlist: wrong input count");
  std::ostringstream s;
  s.precision(17);
  s << "* txsim crossbar " << rows << "x" << cols << (fwd ? " forward" : " backward") << " read\n";
  s << ".options numdgt=15 reltol=1e-10 abstol=1e-18 vntol=1e-12\n";
  auto w = [](int i, int j) { return "w" + std::to_string(i) + "_" + std::to_string(j); };
  auto b = [](int i, int j) { return "b" + std::to_string(i) + "_" + std::to_string(j); };
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      if (j + 1 < cols) s << "rw" << i << "_" << j << " " << w(i, j) << " " << w(i, j + 1) << " " << p.wire_ohm << "\n";
      if (i + 1 < rows) s << "rb" << i << "_" << j << " " << b(i, j) << " " << b(i + 1, j) << " " << p.wire_ohm << "\n";
      const double gij = g[static_cast<std::size_t>(i) * cols + j];
      if (iv.kind == IvKind::Linear)
        s << "rd" << i << "_" << j << " " << w(i, j) << " " << b(i, j) << " " << 1 / gij << "\n";
      else
        s << "bd" << i << "_" << j << " " << w(i, j) << " " << b(i, j) << " i = " << gij / iv.a << "*sinh(" << iv.a
          << "*v(" << w(i, j) << "," << b(i, j) << "))\n";
    }
  for (int k = 0; k < driven; ++k) {
    const std::string end = fwd ? w(k, 0) : b(rows - 1, k);  // word lines driven at column 0, bit lines at the last row
    s << "vin" << k << " in" << k << " 0 dc " << inputs[k] << "\n";
    s << "rs" << k << " in" << k << " " << end << " " << p.source_ohm << "\n";
  }
  for (int k = 0; k < sensed; ++k) {
    const std::string end = fwd ? b(rows - 1, k) : w(k, 0);
    s << "rk" << k << " " << end << " s" << k << " " << p.sink_ohm << "\n";
    s << "vs" << k << " s" << k << " 0 dc 0\n";
  }
  s << ".control\nset numdgt=15\nop\n";
  for (int k = 0; k < sensed; ++k) s << "print i(vs" << k << ")\n";
  s << "quit 0\n.endc\n.end\n";
  return s.str();
}

std::vector<double> run_ngspice(const std::string& netlist, const std::string& path, int outputs) {
  {
    std::ofstream out(path);
    if (!(out << netlist)) throw std::runtime_error("cannot write the netlist to " + path);
  }
  const std::string log = path + ".log";
  const std::string cmd = "ngspice -b '" + path + "' > '" + log + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  if (rc != 0)
    throw std::runtime_error("ngspice failed (exit status " + std::to_string(rc) + "; is the Debian package ngspice "
                             "installed?): " + text.str().substr(0, 2000));
  std::vector<double> currents(outputs);
  std::vector<bool> found(outputs, false);
  const std::regex line(R"(^i\(vs(\d+)\)\s*=\s*(\S+))");
  std::string l;
  while (std::getline(text, l)) {
    std::smatch m;
    if (!std::regex_search(l, m, line)) continue;
    const int k = std::stoi(m[1]);
    if (k < 0 || k >= outputs) continue;
    currents[k] = std::stod(m[2]);
    found[k] = true;
  }
  for (int k = 0; k < outputs; ++k)
    if (!found[k]) throw std::runtime_error("ngspice printed no current for vs" + std::to_string(k) + " (log: " + log + ")");
  return currents;
}

}  // namespace txsim
