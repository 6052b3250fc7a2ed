// What the hardware did during functional operations: the seam to the timed model, which turns
// activity into time and energy without recomputing any number.
#pragma once

#include <cstdint>

namespace txsim {

// The training phases of a batch, per layer: forward read, activation gradient (the transposed
// read), weight gradient, weight update (programming).
enum class Phase { Forward, ActivationGradient, WeightGradient, WeightUpdate };
constexpr int kPhases = 4;
inline const char* phase_name(Phase p) {
  constexpr const char* names[kPhases] = {"FW", "AG", "WG", "WU"};
  return names[static_cast<int>(p)];
}

struct Activity {
  uint64_t crossbar_reads = 0;   // one physical crossbar activated for one input plane of one sample
  uint64_t dac_conversions = 0;  // one line driven for one plane on one crossbar
  uint64_t adc_conversions = 0;  // one sensed line digitized
  uint64_t shift_adds = 0;       // one digitized partial sum shifted and accumulated
  uint64_t device_macs = 0;      // one device's multiply-accumulate (each device of a pair counts)
  uint64_t program_pulses = 0;   // one programming pulse into one device (energy)
  // Programming time in pulse slots: crossbars program in parallel; within one crossbar either
  // one row at a time with all of its devices pulsed together (a row takes as many slots as its
  // most-pulsed device; weight updates by pulse counts), or the whole array at once, one slot
  // per bit of the pulse trains (stochastic pulse-train updates). The slowest crossbar's count.
  uint64_t program_slots = 0;

  Activity& operator+=(const Activity& o) {
    crossbar_reads += o.crossbar_reads;
    dac_conversions += o.dac_conversions;
    adc_conversions += o.adc_conversions;
    shift_adds += o.shift_adds;
    device_macs += o.device_macs;
    program_pulses += o.program_pulses;
    program_slots += o.program_slots;
    return *this;
  }
};

}  // namespace txsim
