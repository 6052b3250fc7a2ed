#include "txsim/tlm/cost_model/registers.h"

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace txsim::hw {

namespace {
std::size_t index_of(const char* name) {
  for (std::size_t i = 0; i < kRegisters.size(); ++i)
    if (std::strcmp(kRegisters[i].name, name) == 0) return i;
  throw std::invalid_argument(std::string("no register named ") + name);
}
}  // namespace

AccessResult RegisterFile::check(uint64_t offset, unsigned length, bool byte_enables) const {
  if (byte_enables) return AccessResult::ByteEnableError;
  // IEEE 1666 (14.17): a data length the target cannot handle is a burst error, shorter ones too.
  if (length != 4) return AccessResult::BurstError;
  if (offset % 4 != 0 || offset >= kRegisterSpan) return AccessResult::AddressError;
  for (const RegisterInfo& r : kRegisters)
    if (r.offset == offset) return AccessResult::Ok;
  return AccessResult::AddressError;  // a hole in the map
}

AccessResult RegisterFile::access(bool write, uint64_t offset, unsigned length, bool byte_enables, uint32_t* value) {
  if (const AccessResult c = check(offset, length, byte_enables); c != AccessResult::Ok) return c;
  for (std::size_t i = 0; i < kRegisters.size(); ++i) {
    const RegisterInfo& r = kRegisters[i];
    if (r.offset != offset) continue;
    if (!write) {
      *value = values_[i];
      return AccessResult::Ok;
    }
    switch (r.access) {
      case Access::ReadOnly: return AccessResult::CommandError;
      case Access::ReadWrite:
        if (*value & ~r.writable_mask) return AccessResult::CommandError;  // reserved bits
        values_[i] = *value;
        return AccessResult::Ok;
      case Access::WriteOneToClear:
        if (*value & ~r.writable_mask) return AccessResult::CommandError;
        values_[i] &= ~*value;
        return AccessResult::Ok;
    }
  }
  return AccessResult::AddressError;  // a hole in the map
}

uint32_t RegisterFile::get(const char* name) const { return values_[index_of(name)]; }

void RegisterFile::set_hardware(const char* name, uint32_t value) { values_[index_of(name)] = value; }

uint64_t RegisterFile::address(const char* lo_name) const {
  const std::size_t lo = index_of(lo_name);
  return (static_cast<uint64_t>(values_[lo + 1]) << 32) | values_[lo];
}

std::string register_map_markdown() {
  std::string out = "| offset | name | access | description |\n|---|---|---|---|\n";
  for (const RegisterInfo& r : kRegisters) {
    char offset[16];
    std::snprintf(offset, sizeof offset, "0x%02X", r.offset);
    const char* access = r.access == Access::ReadOnly ? "RO" : r.access == Access::ReadWrite ? "RW" : "W1C";
    out += std::string("| ") + offset + " | " + r.name + " | " + access + " | " + r.description + " |\n";
  }
  out += "\n| ERROR_CODE | name | meaning |\n|---|---|---|\n";
  for (const ErrorCodeInfo& e : kErrorCodes)
    out += "| " + std::to_string(e.code) + " | " + e.name + " | " + e.description + " |\n";
  return out;
}

}  // namespace txsim::hw
