// The accelerator's memory-mapped registers, declared once as a table: the register file, the
// TLM target's checks and the README's register map all come from kRegisters.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace txsim::hw {

enum class Access { ReadWrite, ReadOnly, WriteOneToClear };

struct RegisterInfo {
  const char* name;
  uint32_t offset;  // bytes from the target's base; every register is 32 bits, 4-byte aligned
  Access access;
  uint32_t writable_mask;  // bits a write may change (ReadWrite) or clear (WriteOneToClear)
  const char* description;
};

// Bits of CTRL, STATUS and the interrupt registers.
namespace bits {
constexpr uint32_t kStart = 1u << 0;    // CTRL: start the job the descriptors describe
constexpr uint32_t kReset = 1u << 1;    // CTRL: abandon the job (it writes nothing more and raises no interrupt), clear STATUS, IRQ_STATUS, ERROR_CODE
constexpr uint32_t kBusy = 1u << 0;     // STATUS
constexpr uint32_t kDone = 1u << 1;     // STATUS, IRQ_ENABLE, IRQ_STATUS
constexpr uint32_t kError = 1u << 2;    // STATUS, IRQ_ENABLE, IRQ_STATUS
}  // namespace bits

constexpr std::array<RegisterInfo, 14> kRegisters = {{
    {"CTRL", 0x00, Access::ReadWrite, bits::kStart | bits::kReset, "bit 0 START (self-clearing; ignored while BUSY), bit 1 RESET (self-clearing; abandons a running job, clears STATUS, IRQ_STATUS and ERROR_CODE; wins over START)"},
    {"STATUS", 0x04, Access::ReadOnly, 0, "bit 0 BUSY, bit 1 DONE, bit 2 ERROR"},
    {"IRQ_ENABLE", 0x08, Access::ReadWrite, bits::kDone | bits::kError, "bit 1 DONE, bit 2 ERROR: raise the interrupt line"},
    {"IRQ_STATUS", 0x0C, Access::WriteOneToClear, bits::kDone | bits::kError, "pending DONE / ERROR; write 1 to clear"},
    {"NETWORK_ADDR_LO", 0x10, Access::ReadWrite, 0xFFFFFFFFu, "system address of the network descriptor (low 32 bits)"},
    {"NETWORK_ADDR_HI", 0x14, Access::ReadWrite, 0xFFFFFFFFu, "system address of the network descriptor (high 32 bits)"},
    {"NETWORK_SIZE", 0x18, Access::ReadWrite, 0xFFFFFFFFu, "bytes of the network descriptor"},
    {"DATA_ADDR_LO", 0x20, Access::ReadWrite, 0xFFFFFFFFu, "system address of the training data (low 32 bits)"},
    {"DATA_ADDR_HI", 0x24, Access::ReadWrite, 0xFFFFFFFFu, "system address of the training data (high 32 bits)"},
    {"DATA_SIZE", 0x28, Access::ReadWrite, 0xFFFFFFFFu, "bytes of the training data"},
    {"RESULT_ADDR_LO", 0x30, Access::ReadWrite, 0xFFFFFFFFu, "system address the results are written to (low 32 bits)"},
    {"RESULT_ADDR_HI", 0x34, Access::ReadWrite, 0xFFFFFFFFu, "system address the results are written to (high 32 bits)"},
    {"RESULT_SIZE", 0x38, Access::ReadWrite, 0xFFFFFFFFu, "bytes reserved for the results"},
    {"ERROR_CODE", 0x3C, Access::ReadOnly, 0, "why the last job failed (0: no error)"},
}};

constexpr uint32_t kRegisterSpan = 0x40;  // bytes the target decodes

// ERROR_CODE values.
namespace errors {
constexpr uint32_t kNone = 0;
constexpr uint32_t kNoRunner = 1;        // no job runner installed
constexpr uint32_t kBadDescriptor = 2;   // the network descriptor is not valid JSON or names a bad field
constexpr uint32_t kDmaError = 3;        // system memory answered a DMA access with an error
constexpr uint32_t kBadData = 4;         // the data region is malformed (header, IDX files)
constexpr uint32_t kResultTooSmall = 5;  // RESULT_SIZE cannot hold the results
constexpr uint32_t kDoesNotFit = 6;      // the network needs more crossbars than the accelerator has
constexpr uint32_t kDiverged = 7;        // training diverged (NaN or infinite loss)
}  // namespace errors

struct ErrorCodeInfo {
  uint32_t code;
  const char* name;
  const char* description;
};
constexpr std::array<ErrorCodeInfo, 8> kErrorCodes = {{
    {errors::kNone, "NONE", "no error"},
    {errors::kNoRunner, "NO_RUNNER", "no job runner installed"},
    {errors::kBadDescriptor, "BAD_DESCRIPTOR", "the network descriptor is not valid JSON or has a bad field"},
    {errors::kDmaError, "DMA_ERROR", "system memory answered a DMA access with an error"},
    {errors::kBadData, "BAD_DATA", "the data region is malformed (header or IDX files)"},
    {errors::kResultTooSmall, "RESULT_TOO_SMALL", "RESULT_SIZE cannot hold the results"},
    {errors::kDoesNotFit, "DOES_NOT_FIT", "the network needs more crossbars than the accelerator has"},
    {errors::kDiverged, "DIVERGED", "training diverged (NaN or infinite loss)"},
}};

// The outcome of one register access, in the terms TLM responses need.
enum class AccessResult { Ok, AddressError, CommandError, BurstError, ByteEnableError };

// Register state and the access rules of the table, without SystemC.
class RegisterFile {
 public:
  // A 32-bit access at `offset` (length bytes, byte enables present or not): reads fill *value;
  // writes apply the register's rule. Anything but an aligned 4-byte access to a register in
  // the table is refused with the matching error and changes nothing.
  AccessResult access(bool write, uint64_t offset, unsigned length, bool byte_enables, uint32_t* value);
  // The same checks without an access (TLM_IGNORE_COMMAND): Ok for an access the map accepts.
  AccessResult check(uint64_t offset, unsigned length, bool byte_enables) const;
  uint32_t get(const char* name) const;          // by name (tests, the controller)
  void set_hardware(const char* name, uint32_t value);  // the device side: STATUS, IRQ_STATUS, ERROR_CODE, CTRL
  uint64_t address(const char* lo_name) const;   // a 64-bit descriptor address from its LO/HI pair
  // True while an enabled interrupt is pending: the level of the interrupt line.
  bool interrupt() const { return (get("IRQ_STATUS") & get("IRQ_ENABLE")) != 0; }

 private:
  std::array<uint32_t, kRegisters.size()> values_{};
};

// The table in Markdown (the README's register map is this output).
std::string register_map_markdown();

}  // namespace txsim::hw
