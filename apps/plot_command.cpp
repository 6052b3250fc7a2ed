// txsim plot: a sweep's results CSV as figures (gnuplot: PNG and SVG) and a Markdown table.
//   accuracy   final test accuracy against the first grid axis (or --x), one line per value of
//              the other axes, each with its ideal reference dashed; diverged points marked
//   epochs     test accuracy against epoch for every point and reference
//   energy     timed sweeps: training energy per image by component, one stacked bar per point
//   latency    timed sweeps: training time per batch by phase, one stacked bar per point
//   table.md   every point: its settings, accuracy, ideal, drop (and the timed figures)
#include "plot_command.h"
#include "command_util.h"
#include "sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <boost/program_options.hpp>

#include "txsim/config.h"
#include "txsim/tlm/cost_model/accounting.h"

extern char** environ;

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace txsim::app {

namespace {

using Row = std::map<std::string, std::string>;

struct Table {
  std::vector<std::string> header;
  std::vector<Row> rows;
  std::vector<std::string> axes;  // the grid axes: the columns between id and seed ("seed" for a grid over seeds only)
  bool seed_axis = false;         // the grid points differ in their seed
};

Table read_table(const std::string& path) {
  const auto cells = sweep::parse_csv(read_text_file(path, kMaxConfigBytes), path);
  if (cells.empty()) throw std::runtime_error(path + ": empty file; accepted a txsim sweep results.csv");
  Table t;
  t.header = cells[0];
  const auto id = std::find(t.header.begin(), t.header.end(), "id"), seed = std::find(t.header.begin(), t.header.end(), "seed");
  for (const char* need : {"kind", "status", "id", "seed", "final_test_accuracy", "ideal_test_accuracy", "test_accuracy_by_epoch"})
    if (std::find(t.header.begin(), t.header.end(), need) == t.header.end())
      throw std::runtime_error(path + ": no column '" + need + "'; accepted a txsim sweep results.csv");
  if (seed < id) throw std::runtime_error(path + ": column 'seed' before 'id'; accepted a txsim sweep results.csv");
  t.axes.assign(id + 1, seed);
  for (std::size_t i = 1; i < cells.size(); ++i) {
    if (cells[i].size() != t.header.size())
      throw std::runtime_error(path + ": line " + std::to_string(i + 1) + " has " + std::to_string(cells[i].size()) +
                               " fields; the header has " + std::to_string(t.header.size()));
    Row r;
    for (std::size_t k = 0; k < t.header.size(); ++k) r[t.header[k]] = cells[i][k];
    t.rows.push_back(std::move(r));
  }
  std::set<std::string> seeds;
  for (const auto& r : t.rows)
    if (r.at("kind") == "grid") seeds.insert(r.at("seed"));
  t.seed_axis = seeds.size() > 1;
  if (t.axes.empty() && t.seed_axis) t.axes = {"seed"};  // a grid over seeds alone
  return t;
}

struct Spread {
  double mean = 0, sd = 0;
  int n = 0;
};

// Mean and sample standard deviation.
Spread spread(const std::vector<double>& v) {
  Spread s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= s.n;
  if (s.n > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(s.sd / (s.n - 1));
  }
  return s;
}

bool is_number(const std::string& s, double* v = nullptr) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return false;
  if (v) *v = d;
  return true;
}

using Group = std::pair<std::string, std::vector<const Row*>>;

// Rows grouped by key(row), the groups in order of first appearance.
template <class Key>
std::vector<Group> group_in_order(const std::vector<const Row*>& rows, Key key) {
  std::vector<Group> groups;
  std::map<std::string, std::size_t> index;
  for (const Row* r : rows) {
    const std::string k = key(*r);
    auto [it, fresh] = index.emplace(k, groups.size());
    if (fresh) groups.push_back({k, {}});
    groups[it->second].second.push_back(r);
  }
  return groups;
}

std::vector<const Row*> grid_rows(const Table& t) {
  std::vector<const Row*> grid;
  for (const Row& r : t.rows)
    if (r.at("kind") == "grid") grid.push_back(&r);
  return grid;
}

// Rows that differ only in their seed, summarized: accuracy, reference and drop in percent and
// points over the finished runs; diverged runs counted.
struct Outcome {
  Spread accuracy, ideal, drop;
  int diverged = 0;
};

Outcome outcome(const std::vector<const Row*>& rows) {
  std::vector<double> acc, ideal, drop;
  Outcome o;
  for (const Row* r : rows) {
    double v = 0;
    const bool ok = r->at("status") == "ok";
    if (ok && is_number(r->at("final_test_accuracy"), &v)) acc.push_back(100 * v);
    if (is_number(r->at("ideal_test_accuracy"), &v)) ideal.push_back(100 * v);
    if (ok && is_number(r->at("accuracy_drop"), &v)) drop.push_back(100 * v);
    o.diverged += r->at("status") == "diverged";
  }
  o.accuracy = spread(acc);
  o.ideal = spread(ideal);
  o.drop = spread(drop);
  return o;
}

// A value as the legend shows it: JSON strings lose their quotes, file names their folders.
std::string shown(const std::string& json_text) {
  std::string s = json_text;
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  const std::size_t slash = s.find_last_of('/');
  if (slash != std::string::npos && s.size() > 5 && s.compare(s.size() - 5, 5, ".json") == 0) s = s.substr(slash + 1, s.size() - slash - 6);
  return s;
}

// A gnuplot string literal that holds `s` as text, whatever it is: single-quoted, where gnuplot
// substitutes nothing (double-quoted strings run `backquoted` text as a shell command and
// expand escapes); a quote is doubled, control characters become spaces. The terminals are
// noenhanced, so _ ^ { } @ & ~ are shown as they are.
std::string gp_string(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "''";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) q += ' ';
    else q += c;
  }
  return q + "'";
}

std::string percent(const std::string& v) {
  double d = 0;
  if (!is_number(v, &d)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", 100 * d);
  return buf;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// gnuplot on `script`, without a shell: its standard error into `log`. Returns its exit status.
int run_gnuplot(const std::string& script, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  std::string program = "gnuplot";
  std::vector<char*> argv = {program.data(), const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// Writes name.dat and name.gp, runs gnuplot for name.png and name.svg.
void render(const std::string& dir, const std::string& name, const std::string& data, const std::string& script,
            std::vector<std::string>& made) {
  const std::string dat = dir + "/" + name + ".dat", gp = dir + "/" + name + ".gp", log = dir + "/" + name + ".gnuplot.log";
  write_atomically(dat, data);
  std::string full = "set datafile separator '\\t'\nset encoding utf8\nset grid\nset key below\n";
  full += "set terminal pngcairo size 1000,600 noenhanced font 'DejaVu Sans,11'\nset output " + gp_string(dir + "/" + name + ".png") + "\n" + script;
  full += "set terminal svg size 1000,600 dynamic noenhanced font 'DejaVu Sans,11'\nset output " + gp_string(dir + "/" + name + ".svg") +
          "\nreplot\nunset output\n";
  write_atomically(gp, full);
  if (run_gnuplot(gp, log) != 0) {
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    throw std::runtime_error("gnuplot failed on " + gp + " (is gnuplot installed? Debian: gnuplot-nox):\n" + s.str());
  }
  fs::remove(log);
  made.push_back(dir + "/" + name + ".png");
  made.push_back(dir + "/" + name + ".svg");
}

void accuracy_plot(const Table& t, const std::string& x_axis, const std::string& dir, const std::string& title,
                   std::vector<std::string>& made) {
  std::vector<std::string> others;
  for (const std::string& a : t.axes)
    if (a != x_axis) others.push_back(a);
  // Series: one per combination of the other axes, in order of appearance.
  const std::vector<Group> series = group_in_order(grid_rows(t), [&](const Row& r) {
    std::string key;
    for (const std::string& o : others) key += (key.empty() ? "" : ", ") + o + "=" + shown(r.at(o));
    return key;
  });
  if (series.empty()) return;
  bool numeric = true;
  std::vector<double> xs;
  for (const auto& r : t.rows)
    if (r.at("kind") == "grid") {
      double v = 0;
      numeric = numeric && is_number(r.at(x_axis), &v);
      xs.push_back(v);
    }
  // Categories keep the grid's order.
  std::vector<std::string> categories;
  for (const auto& r : t.rows)
    if (r.at("kind") == "grid" && std::find(categories.begin(), categories.end(), r.at(x_axis)) == categories.end())
      categories.push_back(r.at(x_axis));
  std::ostringstream data;
  std::string plot = "plot ";
  int block = 0;
  const bool log_x = numeric && *std::min_element(xs.begin(), xs.end()) > 0 &&
                     *std::max_element(xs.begin(), xs.end()) / *std::min_element(xs.begin(), xs.end()) >= 100;
  // With several seeds per point (a seed axis beside others), each x shows the mean over the seeds
  // with a bar of one standard deviation; diverged seeds are left out of the mean and marked.
  const bool averaged = t.seed_axis && x_axis != "seed";
  for (std::size_t s = 0; s < series.size(); ++s) {
    // x, accuracy (%), ideal (%), diverged marker, accuracy standard deviation (points)
    for (const auto& [xv, rows] : group_in_order(series[s].second, [&](const Row& r) { return r.at(x_axis); })) {
      const double x = numeric ? std::stod(xv)
                               : static_cast<double>(std::find(categories.begin(), categories.end(), xv) - categories.begin());
      const Outcome o = outcome(rows);
      data << number(x) << "\t" << (o.accuracy.n ? number(o.accuracy.mean) : "NaN") << "\t"
           << (o.ideal.n ? number(o.ideal.mean) : "NaN") << "\t" << (o.diverged ? "0" : "NaN") << "\t"
           << number(o.accuracy.sd) << "\n";
    }
    data << "\n\n";
    const std::string name = series[s].first.empty() ? "non-ideal" : series[s].first;
    const int color = static_cast<int>(s) + 1;
    plot += std::string(block ? ", \\\n     " : "") + gp_string(dir + "/accuracy.dat") + " index " + std::to_string(block) +
            (averaged ? " using 1:2:5 with yerrorlines" : " using 1:2 with linespoints") + " lw 2 pt 7 lc " +
            std::to_string(color) + " title " + gp_string(name);
    // One legend entry for the references: each is dashed in its line's colour.
    plot += ", '' index " + std::to_string(block) + " using 1:3 with lines dt 2 lw 1.5 lc " + std::to_string(color) +
            (s == 0 ? " title " + gp_string(series.size() > 1 ? "ideal (dashed, in each line's colour)" : "ideal (digital layers)")
                    : std::string(" notitle"));
    plot += ", '' index " + std::to_string(block) + " using 1:4 with points pt 2 ps 2 lc " + std::to_string(color) +
            " notitle";
    ++block;
  }
  std::string script = "set title " + gp_string(title + ": final test accuracy against " + x_axis +
                                               (averaged ? " (mean over seeds, bars: 1 s.d.)" : "")) + "\n";
  script += "set xlabel " + gp_string(x_axis) + "\nset ylabel 'test accuracy (%)'\nset yrange [0:100]\n";
  script += "set label 1 'x at 0%: diverged' at graph 0.01, graph 0.04 font ',9'\n";
  if (log_x) script += "set logscale x\n";
  if (numeric) script += "set autoscale xfix\nset offsets graph 0.03, graph 0.03, 0, 0\n";  // end points and their bars clear the frame
  if (!numeric) {
    script += "set xtics (";
    for (std::size_t i = 0; i < categories.size(); ++i) script += (i ? ", " : "") + gp_string(shown(categories[i])) + " " + std::to_string(i);
    script += ")\nset xrange [-0.5:" + std::to_string(categories.size() - 0.5) + "]\n";
  }
  // Zoom in when every accuracy is high: the differences are what matters.
  double lowest = 100;
  for (const auto& r : t.rows) {
    double v = 0;
    if (is_number(r.at("final_test_accuracy"), &v)) lowest = std::min(lowest, 100 * v);
    if (r.at("status") == "diverged") lowest = 0;
  }
  if (lowest > 50) script += "set yrange [" + number(std::floor(lowest / 5) * 5 - 5) + ":100]\nunset label 1\n";
  render(dir, "accuracy", data.str(), script + plot + "\n", made);
}

void epochs_plot(const Table& t, const std::string& dir, const std::string& title, std::vector<std::string>& made) {
  std::ostringstream data;
  std::string plot = "plot ";
  int block = 0, max_epochs = 0;
  for (const auto& r : t.rows) {
    std::stringstream acc(r.at("test_accuracy_by_epoch"));
    int e = 0;
    for (std::string v; std::getline(acc, v, ';');) data << ++e << "\t" << percent(v) << "\n";
    if (e == 0) continue;
    max_epochs = std::max(max_epochs, e);
    data << "\n\n";
    std::string name;
    for (const std::string& a : t.axes)
      if (!r.at(a).empty()) name += (name.empty() ? "" : ", ") + a + "=" + shown(r.at(a));
    if (r.at("kind") == "ideal") name = "ideal (seed " + r.at("seed") + ")";
    plot += std::string(block ? ", \\\n     " : "") + gp_string(dir + "/epochs.dat") + " index " + std::to_string(block) +
            " using 1:2 with linespoints lw 2 pt 7" + (r.at("kind") == "ideal" ? " dt 2 lc rgb 'black'" : "") + " title " +
            gp_string(name);
    ++block;
  }
  if (!block) return;
  std::string script = "set title " + gp_string(title + ": test accuracy after each epoch") + "\n";
  script += "set xlabel 'epoch'\nset ylabel 'test accuracy (%)'\nset xtics 1\nset xrange [0.5:" + number(max_epochs + 0.5) + "]\n";
  render(dir, "epochs", data.str(), script + plot + "\n", made);
}

// Stacked bars, one per grid point, of the parts (CSV column, label) that any point has: a
// component no point charged is left out, so each shown part gets a colour of its own.
void bars_plot(const Table& t, const std::string& dir, const std::string& title, const std::string& stem, const std::string& name,
               const std::vector<std::pair<std::string, std::string>>& all_parts, double scale,
               const std::string& unit, std::vector<std::string>& made) {
  std::vector<const std::map<std::string, std::string>*> rows;
  for (const auto& r : t.rows)
    if (r.at("kind") == "grid" && r.at("status") == "ok" && !r.at(all_parts[0].first).empty()) rows.push_back(&r);
  if (rows.empty()) return;
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& p : all_parts)
    if (std::any_of(rows.begin(), rows.end(), [&](const auto* r) { return std::stod(r->at(p.first)) != 0; })) parts.push_back(p);
  if (parts.empty()) return;
  std::ostringstream data;
  data << "point";
  for (const auto& p : parts) data << "\t" << p.second;
  data << "\n";
  for (const auto* r : rows) {
    std::string label;
    for (const std::string& a : t.axes) label += (label.empty() ? "" : " ") + shown(r->at(a));
    std::string quoted = "\"";
    for (char c : label) quoted += c == '"' ? '\'' : c;
    data << quoted << "\"";
    for (const auto& p : parts) data << "\t" << number(std::stod(r->at(p.first)) * scale);
    data << "\n";
  }
  // Distinct colours (Glasbey-like), enough for every component of the accounting table.
  static const char* kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                   "#7f7f7f", "#bcbd22", "#17becf", "#000000", "#ffd700", "#00ff7f", "#ff1493",
                                   "#8b0000", "#4682b4", "#d2691e", "#006400", "#00008b", "#c0c0c0", "#ff00ff"};
  std::string axes_names;
  for (const std::string& a : t.axes) axes_names += (axes_names.empty() ? "" : ", ") + a;
  std::string script = "set title " + gp_string(title + ": " + name) + "\n";
  script += "set style data histograms\nset style histogram rowstacked\nset style fill solid 0.85 border -1\nset boxwidth 0.7\n";
  script += "set ylabel " + gp_string(unit) + "\nset xlabel " + gp_string(axes_names) + "\nset xtics rotate by -30\nset yrange [0:*]\n";
  std::string plot = "plot ";
  for (std::size_t k = 0; k < parts.size(); ++k)
    plot += std::string(k ? ", " : "") + gp_string(dir + "/" + stem + ".dat") + " using " + std::to_string(k + 2) + (k ? "" : ":xtic(1)") +
            " title columnheader(" + std::to_string(k + 2) + ") lc rgb '" + kColours[k % (sizeof kColours / sizeof *kColours)] + "'";
  render(dir, stem, data.str(), script + plot + "\n", made);
}

std::string markdown_table(const Table& t) {
  const bool timed = std::find(t.header.begin(), t.header.end(), "energy_per_image_joules") != t.header.end();
  std::ostringstream out;
  out << "|";
  std::vector<std::string> axes;  // the seed has its own column
  for (const std::string& a : t.axes)
    if (a != "seed") axes.push_back(a);
  for (const std::string& a : axes) out << " " << a << " |";
  out << " seed | epochs | test accuracy (%) | ideal (%) | drop (points) |";
  if (timed) out << " images/s | energy/image (µJ) | TOPS/W |";
  out << "\n|";
  for (std::size_t i = 0; i < axes.size() + 5 + (timed ? 3 : 0); ++i) out << "---|";
  out << "\n";
  for (const auto& r : t.rows) {
    if (r.at("kind") != "grid") continue;
    out << "|";
    for (const std::string& a : axes) out << " " << shown(r.at(a)) << " |";
    double drop = 0;
    const bool has_drop = is_number(r.at("accuracy_drop"), &drop);
    out << " " << r.at("seed") << " | " << r.at("epochs") << " | "
        << (r.at("status") == "ok" ? percent(r.at("final_test_accuracy")) : "diverged") << " | "
        << percent(r.at("ideal_test_accuracy")) << " | " << (has_drop ? number(std::round(drop * 10000) / 100) : "-") << " |";
    if (timed) {
      double ips = 0, e = 0, tw = 0;
      const bool ok = is_number(r.at("images_per_second"), &ips) && is_number(r.at("energy_per_image_joules"), &e) &&
                      is_number(r.at("tops_per_watt"), &tw);
      out << " " << (ok ? number(std::round(ips)) : "-") << " | " << (ok ? number(e * 1e6) : "-") << " | " << (ok ? number(tw) : "-")
          << " |";
    }
    out << "\n";
  }
  if (!t.seed_axis) return out.str();
  // Over the seeds: each combination of the other axes once, mean ± sample standard deviation.
  out << "\nOver the seeds (mean ± standard deviation; diverged runs are counted, not averaged):\n\n|";
  for (const std::string& a : axes) out << " " << a << " |";
  out << " seeds | test accuracy (%) | ideal (%) | drop (points) | diverged |\n|";
  for (std::size_t i = 0; i < axes.size() + 5; ++i) out << "---|";
  out << "\n";
  auto pm = [](const Spread& s) {
    if (!s.n) return std::string("-");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f ± %.2f", s.mean, s.sd);
    return std::string(buf);
  };
  const auto groups = group_in_order(grid_rows(t), [&](const Row& r) {
    std::string key;
    for (const std::string& a : axes) key += " " + shown(r.at(a)) + " |";
    return key;
  });
  for (const auto& [key, rows] : groups) {
    const Outcome o = outcome(rows);
    out << "|" << key << " " << rows.size() << " | " << pm(o.accuracy) << " | " << pm(o.ideal) << " | " << pm(o.drop) << " | "
        << o.diverged << " |\n";
  }
  return out.str();
}

}  // namespace

int plot_main(int argc, char** argv) {
  po::options_description opts("txsim plot CSV: figures (gnuplot PNG + SVG) and a Markdown table from a sweep's results.csv");
  opts.add_options()("help,h", "show this help")("csv", po::value<std::string>()->required(), "a txsim sweep results.csv")(
      "out", po::value<std::string>(), "folder for the figures (default: plots/ beside the CSV)")(
      "x", po::value<std::string>(), "the grid axis on the x axis of the accuracy plot (default: the first)")(
      "title", po::value<std::string>(), "title prefix (default: the folder's name)");
  po::positional_options_description pos;
  pos.add("csv", 1);
  return guarded("plot", opts, [&] {
    const po::variables_map vm = parse(argc, argv, opts, pos);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const std::string csv = vm["csv"].as<std::string>();
    const Table t = read_table(csv);
    const fs::path parent = fs::path(csv).parent_path();
    const std::string dir = vm.count("out") ? vm["out"].as<std::string>() : (parent / "plots").string();
    const std::string title = vm.count("title") ? vm["title"].as<std::string>()
                                                : fs::absolute(parent).lexically_normal().filename().string();
    if (t.axes.empty()) throw std::runtime_error(csv + ": no grid axis columns between 'id' and 'seed', and one seed: nothing varies");
    std::string x = t.axes.front();
    if (vm.count("x")) {
      x = vm["x"].as<std::string>();
      if (std::find(t.axes.begin(), t.axes.end(), x) == t.axes.end()) {
        std::string names;
        for (const std::string& a : t.axes) names += (names.empty() ? "" : ", ") + a;
        throw UsageError("--x '" + x + "': accepted one of the grid axes: " + names);
      }
    }
    if (t.rows.empty()) throw std::runtime_error(csv + ": no finished point to plot");
    fs::create_directories(dir);
    std::vector<std::string> made;
    accuracy_plot(t, x, dir, title, made);
    epochs_plot(t, dir, title, made);
    if (std::find(t.header.begin(), t.header.end(), "energy_array_joules_per_image") != t.header.end()) {
      std::vector<std::pair<std::string, std::string>> components;  // the accounting table's, then leakage
      for (const hw::ComponentInfo& c : hw::kComponentTable)
        components.emplace_back("energy_" + std::string(c.key) + "_joules_per_image", c.label);
      components.emplace_back("energy_static_joules_per_image", "static (leakage)");
      bars_plot(t, dir, title, "energy", "energy per image by component", components,
                1e6, "training energy per image (µJ)", made);
      bars_plot(t, dir, title, "latency", "time per epoch by phase",
                {{"latency_FW_seconds_per_epoch", "FW"}, {"latency_AG_seconds_per_epoch", "AG"},
                 {"latency_WG_seconds_per_epoch", "WG"}, {"latency_WU_seconds_per_epoch", "WU"},
                 {"latency_input_seconds_per_epoch", "input"}},
                1.0, "training time per epoch (s)", made);
    }
    write_atomically(dir + "/table.md", markdown_table(t));
    made.push_back(dir + "/table.md");
    for (const std::string& m : made) std::printf("%s\n", m.c_str());
    return 0;
  });
}

}  // namespace txsim::app
