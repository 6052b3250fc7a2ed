// Rows of a matrix made on demand, and taken as they come: what a read takes instead of its
// input matrix, and gives instead of its output matrix.
#pragma once

#include <functional>

namespace txsim {

// Writes rows [first, last) of a read's input (each as long as the read's inputs, one after
// another) to out: a convolution's patch rows, made a block at a time while the block's read
// needs them rather than as one batch-sized matrix. Blocks hold whole groups of `group` rows (a
// convolution's sample: its patches are made at once) and may be asked for from several threads
// at once, each block once.
struct RowSource {
  int group = 1;
  std::function<void(int first, int last, float* out)> make;
};

// Takes rows [first, last) of a read's output (each as long as the read's outputs, one after
// another, at rows): a convolution's patch gradients, added into the input gradient while in
// cache. Blocks hold whole groups of `group` rows (a convolution's sample) and may come from
// several threads at once, each block once.
struct RowSink {
  int group = 1;
  std::function<void(int first, int last, const float* rows)> take;
};

}  // namespace txsim
