// The units of the chip that can be busy, by kind, and what a timed run records of each: how long
// it was busy in each phase, how long jobs waited for it, how many it served. Plain C++: the
// SystemC units fill the records, the report summarizes them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "txsim/activity.h"

namespace txsim::hw {

enum class UnitKind { Crossbars, AdcBank, TileBuffer, Digital, Programming, Link, GlobalBuffer, OffChip, GradientUnit };
constexpr std::size_t kUnitKinds = 9;

struct UnitKindInfo {
  UnitKind kind;
  const char* key;  // CSV, JSON and the summary
};
inline constexpr UnitKindInfo kUnitKindTable[kUnitKinds] = {
    {UnitKind::Crossbars, "crossbars"},
    {UnitKind::AdcBank, "adc_bank"},
    {UnitKind::TileBuffer, "tile_buffer"},
    {UnitKind::Digital, "digital"},
    {UnitKind::Programming, "programming"},
    {UnitKind::Link, "link"},
    {UnitKind::GlobalBuffer, "global_buffer"},
    {UnitKind::OffChip, "offchip"},
    {UnitKind::GradientUnit, "gradient_unit"},
};
inline const char* unit_kind_key(UnitKind k) { return kUnitKindTable[static_cast<std::size_t>(k)].key; }

// Phases of the busy time: the four training phases, then moving batches in.
constexpr std::size_t kBusyPhases = kPhases + 1;
constexpr std::size_t kInputPhase = kPhases;

struct UnitRecord {
  std::string name;  // hierarchical: chip.tile3.pe1, chip.noc.link_4_5, ...
  UnitKind kind = UnitKind::Crossbars;
  int tile = -1;     // the tile it belongs to (-1: chip level)
  uint64_t jobs = 0;
  std::array<double, kBusyPhases> busy_ns{};
  double wait_ns = 0;  // jobs that found it busy waited this long in all

  double busy_total_ns() const {
    double s = 0;
    for (double b : busy_ns) s += b;
    return s;
  }
};

}  // namespace txsim::hw
