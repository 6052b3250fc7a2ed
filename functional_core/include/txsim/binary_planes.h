// Partial sums of binary input planes by table lookup ("method of four Russians"): for every 8
// crossbar lines, a 256-entry table holds the sums of all subsets of their effective conductance
// rows, so one add replaces 8 multiply-adds. Exact: the same float values summed in another
// order. Multi-bit or signed DAC digits are split into binary sub-planes with coefficients.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace txsim {

constexpr int kLookupBits = 8;    // crossbar lines per table
constexpr int kLookupWidth = 32;  // columns per lookup block (looked up in strips of one vector register)

struct BinaryPlanes {
  int rows = 0;       // stacked (plane, sample) rows
  int subplanes = 0;  // binary sub-planes per row
  int chunks = 0;     // tables per crossbar tile: ceil(lines / 8)
  std::vector<float> coefficient;  // per sub-plane: +-2^bit
  std::vector<uint8_t> index;      // rows x subplanes x chunks: bit i set = line 8*chunk+i active
};

// Splits integer digit planes (rows x lines, values in [-(2^dac_bits-1), 2^dac_bits-1]) into
// binary sub-planes.
void split_binary_planes(const float* digits, int rows, int lines, int dac_bits, bool is_signed, BinaryPlanes& out);

// c[r][j] = sum_k digits[r][k] * e[k][j] for j < width (<= kLookupWidth) and all rows r.
// e points at the tile's first line and column; ld is its row stride; c is rows x kLookupWidth.
// table is scratch, resized as needed.
void binary_plane_products(const BinaryPlanes& planes, const float* e, int lines, std::size_t ld, int width,
                           float* c, std::vector<float>& table);

}  // namespace txsim
