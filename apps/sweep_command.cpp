// txsim sweep: runs the points of a sweep plan, each as a `txsim train` child process (a timed
// point elaborates SystemC, which a process can do once), and keeps the results CSV. Locally,
// --jobs points run at a time; under mpirun, rank 0 hands the points out to every rank (itself
// included) and writes every row it gets back. The CSV is rewritten atomically after each point.
#include "sweep_command.h"
#include "command_util.h"
#include "sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "txsim/config.h"

#ifdef TXSIM_HAVE_MPI
#include <mpi.h>
#endif

namespace po = boost::program_options;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace txsim::app {

namespace {

using sweep::Point;
using sweep::Row;
using sweep::Spec;

// How mpirun (OpenMPI, MPICH/PMI, PMIx, Slurm's srun) tells a process it is one of several.
int launcher_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"})
    if (const char* s = std::getenv(v)) {
      if (std::string(v) == "SLURM_NTASKS" && !std::getenv("SLURM_PROCID")) continue;  // inside sbatch, not srun
      return std::max(1, std::atoi(s));
    }
  return 1;
}

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the txsim executable (/proc/self/exe): " + ec.message());
  return p.string();
}

std::string tail_of(const std::string& path, std::size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  for (std::string l; std::getline(in, l);) {
    last.push_back(l);
    if (last.size() > lines) last.pop_front();
  }
  std::string s;
  for (const std::string& l : last) s += "    " + l + "\n";
  return s;
}

// One point's child process.
struct Child {
  pid_t pid = -1;
  int index = -1;
};

class Runner {
 public:
  Runner(const Spec& spec, const std::vector<Point>& points, std::string data)
      : spec_(spec), points_(points), data_(std::move(data)), exe_(self_exe()) {}

  const std::vector<Point>& points() const { return points_; }
  std::string dir(const Point& p) const { return spec_.out + "/points/" + p.id; }

  // Writes the point's resolved files and starts `txsim train` on them. An unfinished point
  // starts over: its folder is emptied first.
  Child start(int index) const {
    const Point& p = points_.at(index);
    const std::string d = dir(p);
    fs::remove_all(d);
    fs::create_directories(d);
    std::vector<std::string> args = {exe_, "train", "--workload", d + "/workload.json", "--seed", std::to_string(p.seed),
                                     "--out", d, "--data", data_, "--limit-train", std::to_string(p.limit_train),
                                     "--limit-test", std::to_string(p.limit_test)};
    write_atomically(d + "/workload.json", p.workload.dump(2) + "\n");
    write_atomically(d + "/config.json", p.config.dump(2) + "\n");
    if (p.device.is_null()) {
      args.insert(args.end(), {"--device", "digital"});
    } else {
      json device = p.device;  // a measured curve: the child reads it from the point's folder
      if (device.contains("update") && device["update"].contains("csv"))
        device["update"]["csv"] = fs::absolute(device["update"]["csv"].get<std::string>()).string();
      write_atomically(d + "/device.json", device.dump(2) + "\n");
      args.insert(args.end(), {"--device", d + "/device.json"});
    }
    if (!p.platform.is_null()) {
      write_atomically(d + "/platform.json", p.platform.dump(2) + "\n");
      args.insert(args.end(), {"--platform", d + "/platform.json"});
    }
    const std::string log = d + "/log.txt", threads = std::to_string(p.threads);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed for point " + std::to_string(index));
    if (pid == 0) {
      // The child dies with the sweep: a killed sweep leaves no run writing behind it.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      setenv("OMP_NUM_THREADS", threads.c_str(), 1);
      setenv("OPENBLAS_NUM_THREADS", threads.c_str(), 1);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return {pid, index};
  }

  // The outcome of a child that ended: the row, or an error message.
  json finish(const Child& c, int wait_status) const {
    const Point& p = points_.at(c.index);
    const std::string d = dir(p);
    const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    if (code == 0 || code == 3) {
      const Row row = sweep::row_from_outputs(spec_, p, d, code == 0 ? "ok" : "diverged");
      return {{"index", c.index}, {"row", row}};
    }
    std::string why = WIFSIGNALED(wait_status) ? "killed by signal " + std::to_string(WTERMSIG(wait_status))
                                               : "exit status " + std::to_string(code);
    return {{"index", c.index},
            {"error", "point " + std::to_string(c.index) + " (" + p.label + ") failed: " + why + "; the end of " + d +
                          "/log.txt:\n" + tail_of(d + "/log.txt", 8)}};
  }

  json run(int index) const {
    const Child c = start(index);
    int status = 0;
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    return finish(c, status);
  }

 private:
  const Spec& spec_;
  const std::vector<Point>& points_;
  std::string data_, exe_;
};

// Rank 0 (or the only process): keeps the CSV, prints progress.
class Results {
 public:
  Results(const Spec& spec, const std::vector<Point>& points, std::map<std::string, Row> rows)
      : spec_(spec), points_(points), rows_(std::move(rows)), csv_(spec.out + "/results.csv") {}

  bool done(const Point& p) const { return rows_.count(p.id) > 0; }
  std::size_t finished() const { return rows_.size(); }

  void add(const json& outcome, std::size_t total) {
    const Point& p = points_.at(outcome.at("index").get<int>());
    Row row = outcome.at("row").get<Row>();
    rows_[p.id] = row;
    write_atomically(csv_, sweep::results_csv(spec_, points_, rows_));
    std::string what = row["status"] == "ok" ? "test accuracy " + percent(row["final_test_accuracy"]) : "diverged";
    if (!p.ideal && !p.ideal_id.empty() && rows_.count(p.ideal_id))
      what += " (ideal " + percent(rows_.at(p.ideal_id).at("final_test_accuracy")) + ")";
    if (!row["energy_per_image_joules"].empty())
      what += ", " + row["images_per_second"] + " images/s, " + row["energy_per_image_joules"] + " J/image";
    const std::string by = outcome.contains("rank") ? " (rank " + std::to_string(outcome["rank"].get<int>()) + ")" : "";
    std::printf("[%zu/%zu] point %d %s: %s%s\n", rows_.size(), total, p.index, p.label.c_str(), what.c_str(), by.c_str());
    std::fflush(stdout);
  }

 private:
  static std::string percent(const std::string& v) {
    if (v.empty()) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f%%", 100 * std::stod(v));
    return buf;
  }
  const Spec& spec_;
  const std::vector<Point>& points_;
  std::map<std::string, Row> rows_;
  std::string csv_;
};

constexpr int kTagResult = 1, kTagAssign = 2;

#ifdef TXSIM_HAVE_MPI
void send_text(const std::string& s, int to, int tag) {
  MPI_Send(s.data(), static_cast<int>(s.size()), MPI_CHAR, to, tag, MPI_COMM_WORLD);
}
std::string receive_text(int from, int tag, int* source) {
  MPI_Status st;
  MPI_Probe(from, tag, MPI_COMM_WORLD, &st);
  int n = 0;
  MPI_Get_count(&st, MPI_CHAR, &n);
  std::string s(static_cast<std::size_t>(n), '\0');
  MPI_Recv(s.data(), n, MPI_CHAR, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (source) *source = st.MPI_SOURCE;
  return s;
}

// A rank other than 0: asks for a point, runs it, sends the outcome back (which asks for the next).
void worker(const Runner& runner, int rank) {
  std::string outcome = "{}";
  while (true) {
    send_text(outcome, 0, kTagResult);
    int index = -1;
    MPI_Recv(&index, 1, MPI_INT, 0, kTagAssign, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (index < 0) return;
    json o = runner.run(index);
    o["rank"] = rank;
    outcome = o.dump();
  }
}
#endif

// Rank 0: hands out the pending points to its own `jobs` child processes and to the other ranks,
// and records every outcome. Returns the first error (empty when none).
std::string coordinate(const Runner& runner, Results& results, std::deque<int> pending, int jobs, int ranks) {
  const std::size_t total = runner.points().size();
  std::vector<Child> local;
  std::string error;
  int workers = ranks - 1;  // ranks that have not been told to stop
  auto outcome = [&](const json& o) {
    if (o.contains("error")) {
      if (error.empty()) error = o["error"].get<std::string>();
      pending.clear();  // the rest would likely fail alike: stop handing out points
      return;
    }
    results.add(o, total);
  };
  while (!local.empty() || workers > 0 || (!pending.empty() && error.empty())) {
    bool busy = false;
    while (error.empty() && static_cast<int>(local.size()) < jobs && !pending.empty()) {
      local.push_back(runner.start(pending.front()));
      pending.pop_front();
      busy = true;
    }
    for (std::size_t i = 0; i < local.size();) {
      int status = 0;
      const pid_t r = waitpid(local[i].pid, &status, WNOHANG);
      if (r == local[i].pid) {
        outcome(runner.finish(local[i], status));
        local.erase(local.begin() + static_cast<long>(i));
        busy = true;
      } else {
        ++i;
      }
    }
#ifdef TXSIM_HAVE_MPI
    if (workers > 0) {
      int flag = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
      if (flag) {
        int from = 0;
        const json o = json::parse(receive_text(MPI_ANY_SOURCE, kTagResult, &from));
        if (o.contains("index")) outcome(o);
        int next = -1;
        if (error.empty() && !pending.empty()) {
          next = pending.front();
          pending.pop_front();
        } else {
          --workers;
        }
        MPI_Send(&next, 1, MPI_INT, from, kTagAssign, MPI_COMM_WORLD);
        busy = true;
      }
    }
#endif
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return error;
}

void print_plan(const Spec& spec, const std::vector<Point>& points) {
  std::printf("%-6s %-6s %-16s %s\n", "point", "kind", "id", "settings");
  for (const Point& p : points)
    std::printf("%-6d %-6s %-16s %s\n", p.index, p.ideal ? "ideal" : "grid", p.id.c_str(), p.label.c_str());
  std::printf("%zu points (%s), results in %s/results.csv\n", points.size(), spec.platform.empty() ? "functional" : "timed",
              spec.out.c_str());
}

}  // namespace

int sweep_main(int argc, char** argv) {
  po::options_description opts(
      "txsim sweep SPEC: train every point of a grid over config fields; one CSV of results (SPEC format: apps/sweep.h, README)");
  opts.add_options()("help,h", "show this help")("spec", po::value<std::string>()->required(), "the sweep spec (JSON)")(
      "out", po::value<std::string>(), "output folder (default: the spec's \"out\", else runs/sweeps/<name>)")(
      "data", po::value<std::string>(), "folder holding the datasets (default: the spec's \"data\", else data)")(
      "jobs", po::value<int>()->default_value(1), "points trained at a time by this process (each uses the spec's threads)")(
      "dry-run", "check the spec and list the points; train nothing");
  po::positional_options_description pos;
  pos.add("spec", 1);
  const int ranks = launcher_size();
#ifndef TXSIM_HAVE_MPI
  if (ranks > 1) {
    std::cerr << "txsim sweep: started as one of " << ranks << " MPI processes, but this txsim was built without MPI "
              << "(install libopenmpi-dev and rebuild)\n";
    return 2;
  }
#else
  int rank = 0;
  if (ranks > 1) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  }
  struct Finalize {
    bool on;
    ~Finalize() {
      if (on) MPI_Finalize();
    }
  } finalize{ranks > 1};
#endif
  return guarded("sweep", opts, [&] {
    const po::variables_map vm = parse(argc, argv, opts, pos);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    const int jobs = vm["jobs"].as<int>();
    if (jobs < 1 || jobs > 256) throw UsageError("--jobs must be in 1..256");
    Spec spec = sweep::load_spec(vm["spec"].as<std::string>());
    if (vm.count("out")) spec.out = vm["out"].as<std::string>();
    if (vm.count("data")) spec.data = vm["data"].as<std::string>();
    std::vector<Point> points = sweep::plan(spec);  // every point checked before anything trains
#ifdef TXSIM_HAVE_MPI
    if (ranks > 1 && rank > 0) {
      Runner runner(spec, points, spec.data);
      worker(runner, rank);
      return 0;
    }
#endif
    if (vm.count("dry-run")) {
      print_plan(spec, points);
      return 0;
    }
    fs::create_directories(spec.out);
    Results results(spec, points, sweep::read_results(spec.out + "/results.csv", spec, points));
    std::ifstream spec_in(spec.source);
    std::stringstream spec_text;
    spec_text << spec_in.rdbuf();
    write_atomically(spec.out + "/spec.json", spec_text.str());
    std::deque<int> pending;
    for (const Point& p : points)
      if (!results.done(p)) pending.push_back(p.index);
    std::printf("txsim sweep %s: %zu points (%zu finished before), %zu to train; %s; %d rank%s x %d job%s, %d thread%s each\n",
                spec.name.c_str(), points.size(), results.finished(), pending.size(),
                spec.platform.empty() ? "functional" : "timed", ranks, ranks > 1 ? "s" : "", jobs, jobs > 1 ? "s" : "",
                spec.threads, spec.threads > 1 ? "s" : "");
    std::fflush(stdout);
    Runner runner(spec, points, spec.data);
    const std::string error = coordinate(runner, results, std::move(pending), jobs, ranks);
    if (!error.empty()) {
      std::cerr << "txsim sweep: " << error;
      std::cerr << "txsim sweep: stopped; the finished points are in " << spec.out << "/results.csv (re-run to go on)\n";
      return 1;
    }
    std::printf("results: %s/results.csv (%zu points)\n", spec.out.c_str(), results.finished());
    return 0;
  });
}

}  // namespace txsim::app
