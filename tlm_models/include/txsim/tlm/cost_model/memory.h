// The memory hierarchy of a training batch, by capacity: what each layer keeps from its forward
// pass for its backward pass (its input), and the error signals of the backward pass, are placed
// in the tile buffers first, then the global buffer, then off-chip DRAM. Plain C++: the
// controller asks it where bytes go and charges the traffic; tests check it by hand.
#pragma once

#include <array>
#include <cstdint>

#include "txsim/tlm/cost_model/platform.h"

namespace txsim::hw {

enum class Level { Tile, Global, Dram };
constexpr std::size_t kLevels = 3;
inline const char* level_name(Level l) {
  constexpr const char* names[kLevels] = {"tile_buffers", "global_buffer", "dram"};
  return names[static_cast<int>(l)];
}

// Bytes at each level.
using LevelBytes = std::array<uint64_t, kLevels>;

class MemoryLedger {
 public:
  // Capacities: every tile buffer together (tiles x tile.buffer.kib), the global buffer; DRAM
  // holds the rest.
  explicit MemoryLedger(const Platform& p);
  // Places `bytes` in the first levels with room; returns where they went.
  LevelBytes place(uint64_t bytes);
  void release(const LevelBytes& placed);
  void clear();  // a new batch: nothing is held
  const LevelBytes& capacity() const { return capacity_; }
  const LevelBytes& peak() const { return peak_; }  // the most held at once, over every batch
  void set_peak(const LevelBytes& peak) { peak_ = peak; }  // a resumed run's

 private:
  LevelBytes capacity_{}, held_{}, peak_{};
};

}  // namespace txsim::hw
