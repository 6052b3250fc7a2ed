#include "txsim/tlm/timed.h"

#include <algorithm>
#include <cmath>

namespace txsim::hw {

using sc_core::sc_time;
using sc_core::SC_NS;

namespace {

double to_ns(const sc_time& t) { return t.to_seconds() * 1e9; }

}  // namespace

// ---- targets ------------------------------------------------------------------------------------

TimedUnit::TimedUnit(sc_core::sc_module_name name, const Platform& p) : sc_core::sc_module(name), socket("socket"), p_(p) {
  socket.register_b_transport(this, &TimedUnit::b_transport);
}

void TimedUnit::set_trace(trace::TraceSink* sink) {
  sink_ = sink;
  tracks_.clear();
}

void TimedUnit::span(const char* unit, const Job& job, double start_ns, double ns) {
  if (!sink_ || !job.traced || ns <= 0) return;
  auto it = std::find_if(tracks_.begin(), tracks_.end(), [&](const auto& t) { return t.first == unit; });
  if (it == tracks_.end()) {
    tracks_.emplace_back(unit, sink_->track(std::string(basename()) + (*unit ? " " : "") + unit));
    it = std::prev(tracks_.end());
  }
  sink_->span(it->second, job.label, start_ns, ns);
}

void TimedUnit::b_transport(tlm::tlm_generic_payload& trans, sc_time& delay) {
  Job* job = nullptr;
  trans.get_extension(job);
  if (!job || trans.get_command() != tlm::TLM_IGNORE_COMMAND) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  job->cost = Cost{};
  serve(*job, to_ns(sc_core::sc_time_stamp() + delay));
  delay += sc_time(job->cost.latency_ns, SC_NS);
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

void Tile::serve(Job& j, double t0) {
  switch (j.kind) {
    case Job::Kind::Read: {
      const Cost r = read_cost(p_, j.activity, j.where, j.outputs);
      const Cost b = tile_traffic_cost(p_, j.bytes);
      j.cost = overlapped(r.energy_scaled(j.share), b);
      j.cost.parts.charge(Component::Activation, static_cast<double>(j.activations) * j.share, p_.part(Component::Activation));
      span("crossbars", j, t0, r.demand_ns[static_cast<std::size_t>(Resource::Array)]);
      span("ADCs", j, t0, r.demand_ns[static_cast<std::size_t>(Resource::Adc)]);
      span("buffer", j, t0, b.latency_ns);
      break;
    }
    case Job::Kind::Digital: {
      const Cost d = digital_cost(p_, static_cast<double>(j.macs) * j.share, 1);
      const Cost b = tile_traffic_cost(p_, j.bytes);
      j.cost = overlapped(d, b);
      j.cost.parts.charge(Component::Activation, static_cast<double>(j.activations) * j.share, p_.part(Component::Activation));
      span("digital", j, t0, d.latency_ns);
      span("buffer", j, t0, b.latency_ns);
      break;
    }
    case Job::Kind::Update: {
      const Cost u = update_cost(p_, j.activity);
      j.cost = u.energy_scaled(j.share * j.where.replicas);  // every copy is programmed
      span("programming", j, t0, u.latency_ns);
      break;
    }
    default: j.cost.latency_ns = 0;
  }
}

void Interconnect::serve(Job& j, double t0) {
  j.cost = noc_cost(p_, j.bytes, hops_between(p_, j.from, j.to));
  span("", j, t0, j.cost.latency_ns);
}

void GlobalBuffer::serve(Job& j, double t0) {
  j.cost = buffer_cost(p_.global_buffer, p_.part(Component::GlobalBuffer), Component::GlobalBuffer, j.bytes);
  span("", j, t0, j.cost.latency_ns);
}

void OffChipPort::serve(Job& j, double t0) {
  j.cost = offchip_cost(p_, j.bytes);
  span("", j, t0, j.cost.latency_ns);
}

void GradientEngine::serve(Job& j, double t0) {
  j.cost = gradient_unit_cost(p_, j.macs);
  span("", j, t0, j.cost.latency_ns);
}

// ---- controller ---------------------------------------------------------------------------------

Controller::Controller(sc_core::sc_module_name name, const Platform& p)
    : sc_core::sc_module(name), tile_port("tile_port"), noc_port("noc_port"), buffer_port("buffer_port"),
      offchip_port("offchip_port"), gradient_port("gradient_port"), busy("busy"), layer("layer"), phase("phase"), p_(p),
      memory_(p) {
  SC_HAS_PROCESS(Controller);
  SC_THREAD(run);
  set_stack_size(64 << 20);  // the training runs in this thread (BLAS, OpenMP, im2col)
}

void Controller::configure(ChipMap map, int sample_values) {
  report_ = HardwareReport{};
  report_.platform = p_.name;
  report_.area_mm2 = p_.area_mm2();
  report_.static_mw = p_.static_mw();
  report_.cells_per_crossbar = p_.crossbar.rows * p_.crossbar.cols;
  report_.layers.resize(map.layers.size());
  report_.map = std::move(map);
  memory_ = MemoryLedger(p_);
  report_.capacity = memory_.capacity();
  sample_values_ = sample_values;
  epoch_ = EpochHardware{};
}

void Controller::set_trace(trace::TraceSink* sink, int batches) {
  sink_ = sink;
  trace_batches_ = batches;
  control_track_ = sink ? sink->track("controller (layer phases)") : -1;
}

void Controller::run() {
  qk_.reset();
  if (work_) work_();
  qk_.sync();
  if (signals_) busy.write(false);
}

double Controller::now_ns() { return to_ns(sc_core::sc_time_stamp() + qk_.get_local_time()); }

sc_time Controller::send(tlm::tlm_fw_transport_if<>& target, Job& job, sc_time at) {
  tlm::tlm_generic_payload trans;
  trans.set_command(tlm::TLM_IGNORE_COMMAND);
  trans.set_address(0);
  trans.set_data_ptr(nullptr);
  trans.set_data_length(0);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  trans.set_extension(&job);
  target.b_transport(trans, at);
  trans.clear_extension(&job);
  if (!trans.is_response_ok()) SC_REPORT_ERROR(name(), ("job refused: " + job.label).c_str());
  return at;
}

void Controller::charge(double ns, Cost cost, PhaseTotals* totals) {
  cost.static_pj = report_.static_mw * ns;  // mW x ns = pJ: the whole chip leaks while it works
  const double pj = cost.energy_pj();
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
  if (totals && train_) {
    ++totals->calls;
    ++totals->bound_calls[static_cast<std::size_t>(cost.bound())];
    Cost c = cost;
    c.latency_ns = ns;
    totals->cost += c;
  }
}

void Controller::advance(sc_time end) {
  qk_.set(end);
  if (signals_ || qk_.need_sync()) qk_.sync();
}

void Controller::on_batch(int samples, bool train) {
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
  if (signals_) {
    qk_.sync();
    busy.write(train);
  }
  const sc_time start = qk_.get_local_time();
  Job j;
  j.traced = traced_;
  j.label = std::string(train ? "train" : "eval") + " batch in";
  j.bytes = static_cast<uint64_t>(samples) * sample_values_ * p_.data_bytes;
  Cost total;
  j.kind = Job::Kind::OffChip;
  sc_time end = send(*offchip_port[0], j, start);
  total += j.cost;
  if (p_.global_buffer.kib > 0) {
    j.kind = Job::Kind::Buffer;
    end = send(*buffer_port[0], j, end);
    total += j.cost;
  }
  const int first = report_.map.layers.empty() ? 0 : report_.map.layers.front().where.first_tile;
  if (first != 0) {
    j.kind = Job::Kind::Transfer;
    j.from = 0;
    j.to = first;
    end = send(*noc_port[0], j, end);
    total += j.cost;
  }
  const double ns = to_ns(end - start);
  if (traced_) sink_->span(control_track_, j.label, now_ns(), ns);
  charge(ns, total, &report_.input);
  advance(end);
}

sc_time Controller::move_spilled(const LevelBytes& placed, int times, const Job& base, sc_time at, Cost& total) {
  const std::pair<Level, tlm::tlm_fw_transport_if<>*> levels[] = {{Level::Global, buffer_port[0]}, {Level::Dram, offchip_port[0]}};
  for (const auto& [level, port] : levels) {
    const uint64_t bytes = placed[static_cast<std::size_t>(level)] * times;
    if (bytes == 0) continue;
    Job j = base;
    j.kind = level == Level::Global ? Job::Kind::Buffer : Job::Kind::OffChip;
    j.bytes = bytes;
    j.label = base.label + (level == Level::Global ? " spill to global buffer" : " spill off-chip");
    at = send(*port, j, at);
    total += j.cost;
  }
  return at;
}

sc_time Controller::weight_gradient(const LayerPlacement& l, const Job& base, uint64_t bytes, sc_time start, Cost& total) {
  if (p_.gradient_unit == GradientUnit::Dedicated) {
    // The operands travel from the layer's tiles through the global buffer to the unit.
    Job j = base;
    j.kind = Job::Kind::Gradient;
    sc_time end = send(*gradient_port[0], j, start);
    total += j.cost;
    if (p_.global_buffer.kib > 0) {
      j.kind = Job::Kind::Buffer;
      j.bytes = bytes;
      end = std::max(end, send(*buffer_port[0], j, start));
      total += j.cost;
    }
    return end;
  }
  Job j = base;
  j.kind = Job::Kind::Digital;
  if (p_.gradient_unit == GradientUnit::AllTiles) return spread(j, 0, p_.tiles, [](int) { return 1; }, p_.tiles, bytes, start, total);
  return on_layer_tiles(j, l, bytes, start, total);
}

sc_time Controller::on_layer_tiles(const Job& base, const LayerPlacement& l, uint64_t bytes, sc_time start, Cost& total) {
  // An analog layer's tiles share its work as they share its crossbars; a digital layer has one.
  return spread(base, l.where.first_tile, l.where.tiles, [&l](int t) { return l.shape.analog ? l.crossbars_on(t) : 1; },
                l.shape.analog ? l.where.crossbars : 1, bytes, start, total);
}

sc_time Controller::spread(const Job& base, int first, int count, const std::function<int(int)>& share, int whole,
                           uint64_t bytes, sc_time start, Cost& total) {
  sc_time end = start;
  uint64_t bytes_left = bytes;
  for (int t = first; t < first + count; ++t) {
    Job j = base;
    const int here = share(t);
    j.share = static_cast<double>(here) / whole;
    j.bytes = t + 1 == first + count ? bytes_left : bytes * here / whole;
    bytes_left -= j.bytes;
    end = std::max(end, send(*tile_port[t], j, start));
    total += j.cost;
  }
  return end;
}

void Controller::on_phase(const nn::PhaseEvent& e) {
  const LayerPlacement& l = report_.map.layers.at(e.index);
  const int ph = static_cast<int>(e.phase);
  const uint64_t macs = static_cast<uint64_t>(e.rows) * e.in * e.out;
  const uint64_t db = p_.data_bytes;
  const bool first_layer = e.index == 0;
  Job base;
  base.phase = e.phase;
  base.layer = e.index;
  base.activity = e.activity;
  base.where = l.where;
  base.traced = traced_;
  base.label = "L" + std::to_string(e.index) + " " + phase_name(e.phase);
  PhaseTotals* totals = &report_.layers[e.index][ph];
  // The memory hierarchy of a training batch: FW keeps the layer's input for its backward pass;
  // the backward pass (WG, then AG) holds the layer's error signal; what the tile buffers and
  // the global buffer cannot hold goes off-chip and comes back.
  LevelBytes spill_now{};  // bytes moved beyond the tile buffers in this phase
  int spill_times = 0;
  LevelBytes reread{};
  if (train_) {
    const std::size_t i = static_cast<std::size_t>(e.index);
    if (e.phase == Phase::Forward) {
      kept_[i] = memory_.place(e.input_values * db);
      for (std::size_t k = 0; k < kLevels; ++k) totals->placed[k] += kept_[i][k];
      spill_now = kept_[i];  // written once
      spill_times = 1;
    } else if (e.phase == Phase::WeightGradient) {
      errors_[i] = memory_.place(static_cast<uint64_t>(e.rows) * e.out * db);
      for (std::size_t k = 0; k < kLevels; ++k) {
        totals->placed[k] += errors_[i][k];
        spill_now[k] = errors_[i][k];  // written once, read here and by AG (below)
        reread[k] = kept_[i][k];       // the kept input comes back
      }
      spill_times = 2;
    } else if (e.phase == Phase::ActivationGradient) {
      spill_now = errors_[i];  // read a second time
      spill_times = 1;
    }
    report_.peak = memory_.peak();
  }
  // The network's input needs no gradient: the hardware skips the first layer's AG (the
  // functional core computes it anyway, which changes no number of the training).
  const bool skipped = (e.phase == Phase::ActivationGradient && first_layer) ||
                       (e.phase == Phase::WeightGradient && l.shape.analog && l.shape.in_array_update);
  auto release = [&] {
    if (!train_) return;
    const std::size_t i = static_cast<std::size_t>(e.index);
    if (e.phase == Phase::WeightGradient) memory_.release(kept_[i]), kept_[i] = {};
    if (e.phase == Phase::ActivationGradient || (e.phase == Phase::WeightGradient && first_layer))
      memory_.release(errors_[i]), errors_[i] = {};
  };
  if (skipped && e.phase == Phase::ActivationGradient) {
    release();
    return;
  }
  uint64_t bytes = 0;  // buffer traffic of the whole layer
  switch (e.phase) {
    case Phase::Forward:
    case Phase::ActivationGradient:
      bytes = static_cast<uint64_t>(e.rows) * (e.in + e.out) * db;
      base.kind = l.shape.analog ? Job::Kind::Read : Job::Kind::Digital;
      base.macs = macs;
      base.outputs = static_cast<uint64_t>(e.rows) * (e.phase == Phase::Forward ? e.out : e.in);
      base.activations = e.phase == Phase::Forward ? static_cast<uint64_t>(e.rows) * e.out : e.input_values;
      break;
    case Phase::WeightGradient:
      bytes = static_cast<uint64_t>(e.rows) * (e.in + e.out) * db;
      base.kind = Job::Kind::Digital;
      base.macs = macs;
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
  if (signals_) {
    qk_.sync();
    layer.write(e.index);
    phase.write(ph + 1);
  }
  const sc_time start = qk_.get_local_time();
  sc_time end = start;
  Cost total;
  if (skipped) {
    // The weight gradient forms in the array during the update: nothing to compute here, but
    // the operands still come back from wherever they were kept.
  } else if (e.phase == Phase::WeightGradient) {
    end = weight_gradient(l, base, bytes, start, total);
  } else {
    end = on_layer_tiles(base, l, bytes, start, total);
  }
  end = move_spilled(spill_now, spill_times, base, end, total);
  end = move_spilled(reread, 1, base, end, total);
  release();
  // The result goes on to the tile of the layer that uses it next.
  const int next = e.phase == Phase::Forward ? e.index + 1 : e.phase == Phase::ActivationGradient ? e.index - 1 : -1;
  if (next >= 0 && next < static_cast<int>(report_.map.layers.size())) {
    const int to = report_.map.layers[next].where.first_tile;
    if (to != l.where.first_tile) {
      Job j = base;
      j.kind = Job::Kind::Transfer;
      j.from = l.where.first_tile;
      j.to = to;
      j.bytes = static_cast<uint64_t>(e.rows) * (e.phase == Phase::Forward ? e.out : e.in) * db;
      end = send(*noc_port[0], j, end);
      total += j.cost;
    }
  }
  const double ns = to_ns(end - start);
  if (traced_ && ns > 0) sink_->span(control_track_, base.label, now_ns(), ns);
  if (train_) {
    totals->activity += e.activity;
    if (e.phase != Phase::WeightUpdate) {
      totals->macs += macs;
      report_.train_ops += 2 * macs;
    }
  }
  if (skipped && ns == 0 && total.energy_pj() == 0) return;
  charge(ns, total, totals);
  advance(end);
}

void Controller::on_epoch(int epoch) {
  epoch_.epoch = epoch;
  report_.epochs.push_back(epoch_);
  epoch_ = EpochHardware{};
}

// ---- chip ---------------------------------------------------------------------------------------

Chip::Chip(sc_core::sc_module_name name, const Platform& p)
    : sc_core::sc_module(name), controller("controller", p), noc("noc", p), buffer("global_buffer", p),
      offchip("offchip", p), gradient_unit("gradient_unit", p) {
  for (int t = 0; t < p.tiles; ++t) {
    tiles.push_back(std::make_unique<Tile>(("tile" + std::to_string(t)).c_str(), p));
    controller.tile_port.bind(tiles.back()->socket);
  }
  controller.noc_port.bind(noc.socket);
  controller.buffer_port.bind(buffer.socket);
  controller.offchip_port.bind(offchip.socket);
  controller.gradient_port.bind(gradient_unit.socket);
}

void Chip::set_trace(trace::TraceSink* sink, int batches) {
  controller.set_trace(sink, batches);
  for (auto& t : tiles) t->set_trace(sink);
  noc.set_trace(sink);
  buffer.set_trace(sink);
  offchip.set_trace(sink);
  gradient_unit.set_trace(sink);
}

std::vector<LayerShape> layer_shapes(nn::Network& net) {
  std::vector<LayerShape> out;
  for (nn::WeightCore* c : net.cores())
    out.push_back({c->analog(), c->in(), c->out(), c->crossbars(), c->in_array_update()});
  return out;
}

}  // namespace txsim::hw
