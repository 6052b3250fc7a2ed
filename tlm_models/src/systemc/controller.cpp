#include "txsim/tlm/systemc/controller.h"

#include <algorithm>
#include <queue>

namespace txsim::hw {

using sc_core::sc_time;
using sc_core::SC_NS;

namespace {

double to_ns(const sc_time& t) { return t.to_seconds() * 1e9; }

const std::string kSpillGlobal = "spill to global buffer", kSpillOffChip = "spill off-chip";
// The trace's counters of the bytes the tile buffers and the global buffer hold (by Level).
const char* const kHeldCounter[] = {"tile buffers held (bytes)", "global buffer held (bytes)"};

}  // namespace

Controller::Controller(sc_core::sc_module_name name, const Platform& p)
    : sc_core::sc_module(name), tile_port("tile_port"), noc_port("noc_port"), buffer_port("buffer_port"),
      offchip_port("offchip_port"), gradient_port("gradient_port"), busy("busy"), layer("layer"), phase("phase"), p_(p),
      memory_(p) {
  SC_HAS_PROCESS(Controller);
  SC_THREAD(run);
  set_stack_size(64 << 20);  // the training runs in this thread (BLAS, OpenMP, im2col)
}

void Controller::configure(ChipMap map, int sample_values) {
  std::vector<UnitRecord> units = std::move(report_.units);
  for (UnitRecord& u : units) u = UnitRecord{u.name, u.kind, u.tile};
  report_ = HardwareReport{};
  report_.units = std::move(units);
  report_.platform = p_.name;
  report_.pipeline = p_.pipeline;
  report_.pipeline_group = p_.pipeline_group;
  report_.area_mm2 = p_.area_mm2();
  report_.static_mw = p_.static_mw();
  report_.cells_per_crossbar = p_.crossbar.rows * p_.crossbar.cols;
  report_.layers.resize(map.layers.size());
  report_.map = std::move(map);
  memory_ = MemoryLedger(p_);
  report_.capacity = memory_.capacity();
  sample_values_ = sample_values;
  epoch_ = EpochHardware{};
  in_hand_ = false;
  pending_.clear();
  built_groups_ = 0;  // another map: the next batch builds its graph afresh
}

void Controller::watch(const Station& s) {
  for (const auto& u : s.units()) units_.push_back(u.get());
}

void Controller::set_trace(trace::TraceSink* sink, int batches) {
  sink_ = sink;
  trace_batches_ = batches;
  batch_track_ = sink ? sink->track("batches", "controller") : -1;
}

void Controller::run() {
  qk_.reset();
  if (work_) work_();
  flush();
  qk_.sync();
  if (signals_) busy.write(false);
}

void Controller::sync() {
  flush();
  qk_.sync();
}

sc_time Controller::send(tlm::tlm_fw_transport_if<>& target, Job& job, sc_time at, UnitKind& bound) {
  sc_time delay = local(at);
  if (!courier_.carry(target, job, delay)) SC_REPORT_ERROR(name(), ("job refused: " + (job.label ? *job.label : std::string())).c_str());
  bound = job.bound;
  return sc_core::sc_time_stamp() + delay;
}

sc_time Controller::step(Task& t, sc_time at, sc_time end, UnitKind bound) {
  t.where[static_cast<std::size_t>(bound)] += to_ns(end - at);
  return end;
}

sc_time Controller::then(Task& t, tlm::tlm_fw_transport_if<>& target, Job& job, sc_time at) {
  UnitKind bound;
  const sc_time end = send(target, job, at, bound);
  t.cost += job.cost;
  return step(t, at, end, bound);
}

void Controller::add_time(double ns, double pj) {
  if (train_) {
    report_.train_ns += ns;
    report_.train_pj += pj;
    epoch_.train_ns += ns;
    epoch_.train_pj += pj;
  } else {
    report_.eval_ns += ns;
    report_.eval_pj += pj;
    epoch_.eval_ns += ns;
    epoch_.eval_pj += pj;
  }
}

Controller::Copies Controller::copies_for(const LayerPlacement& l, int group) const {
  if (p_.pipeline == Pipeline::None || !l.shape.analog) return {};
  if (group < 0) return {0, l.where.replicas};  // the update reprograms every copy, each on its tiles
  // Round-robin over the copies; with more copies than groups, each group takes its own share of
  // them (so no copy idles while a group is read by one).
  const int groups = split_.groups(), r = l.where.replicas;
  if (r >= groups) return {group * (r / groups), r / groups};
  return {group % r, 1};
}

int Controller::first_tile(const LayerPlacement& l, int group) const {
  const Copies c = copies_for(l, group);
  return c.count == 0 ? l.where.first_tile : l.copy(c.first).first_tile;
}

// ---- collecting a batch ---------------------------------------------------------------------------

void Controller::on_batch(int samples, bool train) {
  flush();
  train_ = train;
  memory_.clear();
  kept_.assign(report_.layers.size(), LevelBytes{});
  errors_.assign(report_.layers.size(), LevelBytes{});
  if (train) {
    ++report_.train_batches;
    report_.train_samples += samples;
    ++epoch_.train_batches;
    epoch_.train_samples += samples;
    traced_ = sink_ && report_.train_batches <= static_cast<uint64_t>(trace_batches_);
  } else {
    report_.eval_samples += samples;
    traced_ = false;
  }
  in_hand_ = true;
  samples_ = samples;
  pending_.clear();
}

void Controller::on_phase(const nn::PhaseEvent& e) {
  const LayerPlacement& l = report_.map.layers.at(e.index);
  const int ph = static_cast<int>(e.phase);
  const uint64_t macs = static_cast<uint64_t>(e.rows) * e.in * e.out;
  const uint64_t db = p_.data_bytes;
  const bool first_layer = e.index == 0;
  PhaseTotals* totals = &report_.layers[e.index][ph];
  Pending pend;
  pend.e = e;
  // The memory hierarchy of a training batch: FW keeps the layer's input for its backward pass;
  // the backward pass (WG, then AG) holds the layer's error signal; what the tile buffers and
  // the global buffer cannot hold goes off-chip and comes back.
  if (train_) {
    const std::size_t i = static_cast<std::size_t>(e.index);
    if (e.phase == Phase::Forward) {
      kept_[i] = memory_.place(e.input_values * db);
      pend.placed = kept_[i];
      for (std::size_t k = 0; k < kLevels; ++k) totals->placed[k] += kept_[i][k];
      pend.spill = kept_[i];  // written once
      pend.spill_times = 1;
    } else if (e.phase == Phase::WeightGradient) {
      errors_[i] = memory_.place(static_cast<uint64_t>(e.rows) * e.out * db);
      pend.placed = errors_[i];
      for (std::size_t k = 0; k < kLevels; ++k) {
        totals->placed[k] += errors_[i][k];
        pend.spill[k] = errors_[i][k];  // written once, read here and by AG (below)
        pend.reread[k] = kept_[i][k];   // the kept input comes back
      }
      pend.spill_times = 2;
    } else if (e.phase == Phase::ActivationGradient) {
      pend.spill = errors_[i];  // read a second time
      pend.spill_times = 1;
    }
    report_.peak = memory_.peak();
  }
  // The network's input needs no gradient: the hardware skips the first layer's AG (the
  // functional core computes it anyway, which changes no number of the training).
  pend.skipped = (e.phase == Phase::ActivationGradient && first_layer) ||
                 (e.phase == Phase::WeightGradient && l.shape.analog && l.shape.in_array_update);
  if (train_) {
    const std::size_t i = static_cast<std::size_t>(e.index);
    auto release = [&](LevelBytes& b) {
      for (std::size_t k = 0; k < kLevels; ++k) pend.released[k] += b[k];
      memory_.release(b);
      b = {};
    };
    if (e.phase == Phase::WeightGradient) release(kept_[i]);
    if (e.phase == Phase::ActivationGradient || (e.phase == Phase::WeightGradient && first_layer)) release(errors_[i]);
  }
  if (pend.skipped && e.phase == Phase::ActivationGradient) return;
  if (train_) {
    totals->activity += e.activity;
    if (e.phase != Phase::WeightUpdate) {
      totals->macs += macs;
      report_.train_ops += 2 * macs;
    }
  }
  pending_.push_back(std::move(pend));
}

void Controller::on_epoch(int epoch) {
  flush();
  epoch_.epoch = epoch;
  report_.epochs.push_back(epoch_);
  epoch_ = EpochHardware{};
}

// ---- the batch's graph ----------------------------------------------------------------------------

void Controller::build_graph() {
  // Every batch of a run reports the same phases: the graph and the labels are built again only
  // when the phases or the groups change.
  graph_refs_.clear();
  for (const Pending& pd : pending_) graph_refs_.push_back({pd.e.index, pd.e.phase});
  const bool same = graph_refs_ == built_refs_ && split_.groups() == built_groups_ && train_ == built_train_;
  if (!same) {
    labels_.clear();
    for (const PhaseRef& r : graph_refs_) labels_.push_back("L" + std::to_string(r.layer) + " " + phase_name(r.phase));
    labels_.push_back(std::string(train_ ? "train" : "eval") + " batch in");
    graph_ = batch_graph(graph_refs_, report_.layers.size(), split_.groups(), p_.pipeline);
    built_refs_ = graph_refs_;
    built_groups_ = split_.groups();
    built_train_ = train_;
  }
  tasks_.assign(graph_.nodes.size(), Task{});
  group_activity_.resize(graph_.nodes.size());
  for (std::size_t i = 0; i < graph_.nodes.size(); ++i) {
    const BatchGraph::Node& n = graph_.nodes[i];
    tasks_[i].pending = n.phase;
    tasks_[i].group = n.group;
    group_activity_[i] = n.phase >= 0 ? split_.part(pending_[n.phase].e.activity, n.group) : Activity{};
  }
}

// ---- running a task -------------------------------------------------------------------------------

sc_time Controller::move_spilled(Task& t, const LevelBytes& placed, int times, const Job& base, sc_time at) {
  const std::pair<Level, tlm::tlm_fw_transport_if<>*> levels[] = {{Level::Global, buffer_port[0]}, {Level::Dram, offchip_port[0]}};
  for (const auto& [level, port] : levels) {
    const uint64_t bytes = split_.part(placed[static_cast<std::size_t>(level)], t.group) * times;
    if (bytes == 0) continue;
    Job j = base;
    j.kind = level == Level::Global ? Job::Kind::Buffer : Job::Kind::OffChip;
    j.bytes = bytes;
    j.label = level == Level::Global ? &kSpillGlobal : &kSpillOffChip;
    at = then(t, *port, j, at);
  }
  return at;
}

sc_time Controller::spread(Task& t, const Job& base, const std::vector<Target>& targets, int whole, uint64_t bytes, sc_time start) {
  sc_time end = start;
  UnitKind bound = UnitKind::Crossbars;
  uint64_t bytes_left = bytes;
  Job j = base;  // one copy for every target: each sets the fields that differ, the station the rest
  for (std::size_t k = 0; k < targets.size(); ++k) {
    j.share = static_cast<double>(targets[k].share) / whole;
    j.first_crossbar = targets[k].first_crossbar;
    j.bytes = k + 1 == targets.size() ? bytes_left : bytes * targets[k].share / whole;
    bytes_left -= j.bytes;
    UnitKind b;
    const sc_time e = send(*tile_port[targets[k].tile], j, start, b);
    if (e >= end) end = e, bound = b;
    t.cost += j.cost;
  }
  return step(t, start, end, bound);
}

sc_time Controller::on_layer_tiles(Task& t, const Job& base, const LayerPlacement& l, Copies c, uint64_t bytes, sc_time start) {
  std::vector<Target>& targets = targets_;
  targets.clear();
  // A digital layer has one tile.
  if (!l.shape.analog) {
    targets.push_back({l.where.first_tile, 1, 0});
    return spread(t, base, targets, 1, bytes, start);
  }
  // An analog layer's tiles share its work as they share its crossbars.
  Job j = base;
  j.crossbars = l.where.crossbars;
  const int copies = std::max(c.count, 1);
  if (c.count > 0) j.where = l.copy(c.first), j.where.replicas = c.count;
  for (int k = c.first; k < c.first + copies; ++k) {
    const Placement w = l.copy(k);
    for (int tile = w.first_tile; tile < w.first_tile + w.tiles; ++tile)
      targets.push_back({tile, l.crossbars_on(tile, k), l.copy_first_crossbar(k)});
  }
  return spread(t, j, targets, l.where.crossbars * copies, bytes, start);
}

sc_time Controller::weight_gradient(Task& t, const LayerPlacement& l, Copies c, const Job& base, uint64_t bytes, sc_time start) {
  if (p_.gradient_unit == GradientUnit::Dedicated) {
    // The operands travel from the layer's tiles through the global buffer to the unit.
    Job j = base;
    j.kind = Job::Kind::Gradient;
    UnitKind bound;
    sc_time end = send(*gradient_port[0], j, start, bound);
    t.cost += j.cost;
    if (p_.global_buffer.kib > 0) {
      j.kind = Job::Kind::Buffer;
      j.bytes = bytes;
      UnitKind b;
      const sc_time e = send(*buffer_port[0], j, start, b);
      if (e > end) end = e, bound = b;
      t.cost += j.cost;
    }
    return step(t, start, end, bound);
  }
  Job j = base;
  j.kind = Job::Kind::Digital;
  if (p_.gradient_unit == GradientUnit::AllTiles) {
    targets_.clear();
    for (int tile = 0; tile < p_.tiles; ++tile) targets_.push_back({tile, 1, 0});
    return spread(t, j, targets_, p_.tiles, bytes, start);
  }
  return on_layer_tiles(t, j, l, c, bytes, start);
}

sc_time Controller::gather_gradients(Task& t, const LayerPlacement& l, const Job& base, sc_time at) {
  // Pipelined, each copy computed the weight gradients of its groups on its own tiles: before the
  // update, the partial gradients are summed by a tree reduction (round s: copy k + s sends its
  // sum to copy k, whose tile's digital unit adds it; log2(copies) rounds, the transfers of a
  // round side by side), and the update goes back down the same tree to every copy.
  if (p_.pipeline == Pipeline::None || !l.shape.analog || l.shape.in_array_update || p_.gradient_unit != GradientUnit::LayerTiles)
    return at;
  int used = 0;  // the copies that computed some group's gradients
  for (int g = 0; g < split_.groups(); ++g) {
    const Copies c = copies_for(l, g);
    used = std::max(used, c.first + c.count);
  }
  const uint64_t bytes = static_cast<uint64_t>(l.shape.in) * l.shape.out * p_.data_bytes;
  std::vector<int> strides;
  for (int s = 1; s < used; s *= 2) strides.push_back(s);
  auto round = [&](int s, bool up, sc_time from) {
    sc_time end = from;
    UnitKind bound = UnitKind::Link;
    for (int k = 0; k + s < used; k += 2 * s) {
      const int a = l.copy(k).first_tile, b = l.copy(k + s).first_tile;
      sc_time e = from;
      UnitKind kind = UnitKind::Link;
      if (a != b) {
        Job j = base;
        j.kind = Job::Kind::Transfer;
        j.from = up ? b : a;
        j.to = up ? a : b;
        j.bytes = bytes;
        e = send(*noc_port[0], j, from, kind);
        t.cost += j.cost;
      }
      if (up) {  // copy k adds what it received: one add per weight
        Job add = base;
        add.kind = Job::Kind::Digital;
        add.activity = nullptr;
        add.share = 1;
        add.bytes = 0;
        add.macs = static_cast<uint64_t>(l.shape.in) * l.shape.out;
        UnitKind k2;
        const sc_time e2 = send(*tile_port[a], add, e, k2);
        t.cost += add.cost;
        if (e2 > e) e = e2, kind = k2;
      }
      if (e > end) end = e, bound = kind;
    }
    return step(t, from, end, bound);
  };
  for (int s : strides) at = round(s, true, at);
  for (auto it = strides.rbegin(); it != strides.rend(); ++it) at = round(*it, false, at);
  return at;
}

void Controller::run_task(Task& t) {
  const uint64_t db = p_.data_bytes;
  Job base;
  base.counted = train_;
  base.traced = traced_;
  sc_time at = t.ready;
  if (t.pending < 0) {  // the group's input: off-chip, the global buffer, then the first layer's tile
    base.busy_phase = kInputPhase;
    base.label = &labels_.back();
    base.bytes = split_.part(static_cast<uint64_t>(samples_) * sample_values_ * db, t.group);
    base.kind = Job::Kind::OffChip;
    at = then(t, *offchip_port[0], base, at);
    if (p_.global_buffer.kib > 0) {
      base.kind = Job::Kind::Buffer;
      at = then(t, *buffer_port[0], base, at);
    }
    if (!report_.map.layers.empty()) {
      const int to = first_tile(report_.map.layers.front(), t.group);
      if (to != 0) {
        base.kind = Job::Kind::Transfer;
        base.from = 0;
        base.to = to;
        at = then(t, *noc_port[0], base, at);
      }
    }
    t.end = at;
    return;
  }
  const Pending& pd = pending_[t.pending];
  const nn::PhaseEvent& e = pd.e;
  const LayerPlacement& l = report_.map.layers.at(e.index);
  const Copies copies = copies_for(l, t.group);
  const std::size_t task_index = static_cast<std::size_t>(&t - tasks_.data());
  base.phase = e.phase;
  base.busy_phase = static_cast<std::size_t>(e.phase);
  base.layer = e.index;
  base.activity = &group_activity_[task_index];
  base.where = l.where;
  base.label = &labels_[t.pending];
  const uint64_t rows_in_out = static_cast<uint64_t>(e.rows) * (e.in + e.out) * db;
  uint64_t bytes = 0;  // buffer traffic of the task
  switch (e.phase) {
    case Phase::Forward:
    case Phase::ActivationGradient:
      bytes = split_.part(rows_in_out, t.group);
      base.kind = l.shape.analog ? Job::Kind::Read : Job::Kind::Digital;
      base.macs = split_.part(static_cast<uint64_t>(e.rows) * e.in * e.out, t.group);
      base.outputs = split_.part(static_cast<uint64_t>(e.rows) * (e.phase == Phase::Forward ? e.out : e.in), t.group);
      base.activations = split_.part(e.phase == Phase::Forward ? static_cast<uint64_t>(e.rows) * e.out : e.input_values, t.group);
      break;
    case Phase::WeightGradient:
      bytes = split_.part(rows_in_out, t.group);
      base.kind = Job::Kind::Digital;
      base.macs = split_.part(static_cast<uint64_t>(e.rows) * e.in * e.out, t.group);
      break;
    case Phase::WeightUpdate:
      if (l.shape.analog) {
        base.kind = Job::Kind::Update;
      } else {
        base.kind = Job::Kind::Digital;
        base.macs = static_cast<uint64_t>(e.in) * e.out;  // one multiply-add per weight
      }
      break;
  }
  if (e.phase == Phase::WeightUpdate) at = gather_gradients(t, l, base, at);
  if (pd.skipped) {
    // The weight gradient forms in the array during the update: nothing to compute here, but
    // the operands still come back from wherever they were kept.
  } else if (e.phase == Phase::WeightGradient) {
    at = weight_gradient(t, l, copies, base, bytes, at);
  } else {
    at = on_layer_tiles(t, base, l, copies, bytes, at);
  }
  if (traced_) {  // the buffers' occupancy: this group's part placed at the start, freed at the end
    for (std::size_t k = 0; k < 2; ++k) {
      if (const uint64_t b = split_.part(pd.placed[k], t.group)) sink_->count(kHeldCounter[k], to_ns(t.ready), static_cast<double>(b));
      pending_release_[k] = split_.part(pd.released[k], t.group);
    }
  }
  at = move_spilled(t, pd.spill, pd.spill_times, base, at);
  at = move_spilled(t, pd.reread, 1, base, at);
  // The result goes on to the tile of the layer that uses it next (its copy for this group).
  const int next = e.phase == Phase::Forward ? e.index + 1 : e.phase == Phase::ActivationGradient ? e.index - 1 : -1;
  if (next >= 0 && next < static_cast<int>(report_.map.layers.size())) {
    const int from = first_tile(l, t.group), to = first_tile(report_.map.layers[next], t.group);
    if (to != from) {
      Job j = base;
      j.kind = Job::Kind::Transfer;
      j.from = from;
      j.to = to;
      j.bytes = split_.part(static_cast<uint64_t>(e.rows) * (e.phase == Phase::Forward ? e.out : e.in) * db, t.group);
      at = then(t, *noc_port[0], j, at);
    }
  }
  t.end = at;
  if (traced_) {
    for (std::size_t k = 0; k < 2; ++k)
      if (pending_release_[k]) sink_->count(kHeldCounter[k], to_ns(t.end), -static_cast<double>(pending_release_[k]));
  }
}

// ---- scheduling and charging ----------------------------------------------------------------------

void Controller::flush() {
  if (!in_hand_) return;
  in_hand_ = false;
  split_ = GroupSplit(samples_, p_.pipeline == Pipeline::Layers ? p_.pipeline_group : std::max(1, samples_));
  if (signals_) {
    qk_.sync();
    busy.write(train_);
  }
  const sc_time start = sc_core::sc_time_stamp() + qk_.get_local_time();
  for (Unit* u : units_) u->occupancy().forget_before(static_cast<double>(start.value()));  // the last batch is over
  build_graph();
  // List scheduling: the task whose dependencies finished first goes next (ties: graph order).
  using Entry = std::pair<sc_time, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> ready;
  std::vector<int> waits(tasks_.size());
  for (int i = 0; i < static_cast<int>(tasks_.size()); ++i) {
    tasks_[i].ready = start;
    waits[i] = graph_.nodes[i].waits_for;
    if (waits[i] == 0) ready.emplace(start, i);
  }
  sc_time end = start;
  while (!ready.empty()) {
    const int i = ready.top().second;
    ready.pop();
    Task& t = tasks_[i];
    if (signals_ && p_.pipeline == Pipeline::None && t.pending >= 0) {
      qk_.set(local(t.ready));
      qk_.sync();
      layer.write(pending_[t.pending].e.index);
      phase.write(static_cast<int>(pending_[t.pending].e.phase) + 1);
    }
    run_task(t);
    end = std::max(end, t.end);
    for (int k : graph_.nodes[i].next) {
      Task& s = tasks_[k];
      if (s.pred < 0 || t.end > s.ready) s.ready = std::max(s.ready, t.end), s.pred = i;
      if (--waits[k] == 0) ready.emplace(s.ready, k);
    }
  }
  charge_batch(start, end);
  qk_.set(local(end));
  if (signals_ || qk_.need_sync()) qk_.sync();
  pending_.clear();
}

void Controller::charge_batch(sc_time start, sc_time end) {
  const bool serial = p_.pipeline == Pipeline::None;
  auto totals_of = [&](int pending) -> PhaseTotals* {
    if (pending < 0) return &report_.input;
    const nn::PhaseEvent& e = pending_[pending].e;
    return &report_.layers[e.index][static_cast<int>(e.phase)];
  };
  auto book = [&](PhaseTotals* totals, double ns, Cost cost) {
    if (!train_) return;
    ++totals->calls;
    ++totals->bound_calls[static_cast<std::size_t>(cost.bound())];
    cost.latency_ns = ns;
    totals->cost += cost;
  };
  // Rows: the input, then each layer-phase; a row spans its tasks, from the first one's ready to
  // the last one's end.
  struct Row {
    sc_time from, to;
    Cost cost;
    bool any = false;
  };
  std::vector<Row> rows(pending_.size() + 1);
  for (const Task& t : tasks_) {
    Row& r = rows[t.pending + 1];
    r.from = r.any ? std::min(r.from, t.ready) : t.ready;
    r.to = r.any ? std::max(r.to, t.end) : t.end;
    r.any = true;
    r.cost += t.cost;
  }
  const double makespan = to_ns(end - start);
  double spans = 0;
  for (const Row& r : rows) spans += to_ns(r.to - r.from);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    Row& r = rows[k];
    const int pending = static_cast<int>(k) - 1;
    const double ns = to_ns(r.to - r.from);
    if (pending >= 0 && pending_[pending].skipped && ns == 0 && r.cost.energy_pj() == 0) continue;
    // The whole chip leaks while it works: serially over each row's time; pipelined over the
    // batch's, shared among the rows as their spans are.
    r.cost.static_pj = report_.static_mw * (serial ? ns : spans > 0 ? makespan * ns / spans : 0);
    if (traced_ && ns > 0) {
      const std::string& label = labels_[pending < 0 ? labels_.size() - 1 : static_cast<std::size_t>(pending)];
      sink_->span(sink_->track(pending < 0 ? "input" : label, "controller"), label, to_ns(r.from), ns,
                  {{"energy_pj", r.cost.energy_pj()}});
    }
    if (serial) add_time(ns, r.cost.energy_pj());
    book(totals_of(pending), ns, r.cost);
  }
  if (!serial) {
    double dynamic = 0;
    for (const Row& r : rows) dynamic += r.cost.parts.dynamic_pj();
    add_time(makespan, dynamic + report_.static_mw * makespan);
  }
  if (traced_ && makespan > 0) sink_->span(batch_track_, "train batch", to_ns(start), makespan);
  if (!train_ || tasks_.empty()) return;
  // The critical path: back from the task that finished last, through the dependency that
  // finished last before each; its time by the unit kind that set it.
  int i = 0;
  for (int k = 0; k < static_cast<int>(tasks_.size()); ++k)
    if (tasks_[k].end > tasks_[i].end) i = k;
  for (; i >= 0; i = tasks_[i].pred)
    for (std::size_t k = 0; k < kUnitKinds; ++k) report_.critical_ns[k] += tasks_[i].where[k];
}

}  // namespace txsim::hw
