#include "txsim/tlm/cost_model/memory.h"

#include <algorithm>
#include <limits>

namespace txsim::hw {

MemoryLedger::MemoryLedger(const Platform& p) {
  capacity_[0] = static_cast<uint64_t>(p.tile_buffer.kib * 1024) * p.tiles;
  capacity_[1] = static_cast<uint64_t>(p.global_buffer.kib * 1024);
  capacity_[2] = std::numeric_limits<uint64_t>::max();
}

LevelBytes MemoryLedger::place(uint64_t bytes) {
  LevelBytes placed{};
  for (std::size_t l = 0; l < kLevels && bytes > 0; ++l) {
    const uint64_t here = std::min(bytes, capacity_[l] - held_[l]);
    placed[l] = here;
    held_[l] += here;
    peak_[l] = std::max(peak_[l], held_[l]);
    bytes -= here;
  }
  return placed;
}

void MemoryLedger::release(const LevelBytes& placed) {
  for (std::size_t l = 0; l < kLevels; ++l) held_[l] -= std::min(held_[l], placed[l]);
}

void MemoryLedger::clear() { held_ = {}; }

}  // namespace txsim::hw
