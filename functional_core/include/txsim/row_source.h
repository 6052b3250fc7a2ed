// Rows of a matrix made on demand: what a read takes instead of the matrix itself.
#pragma once

#include <functional>

namespace txsim {

// Writes rows [first, last) of a read's input (each as long as the read's inputs, one after
// another) to out: a convolution's patch rows, made a block at a time while the block's read
// needs them rather than as one batch-sized matrix.
using RowSource = std::function<void(int first, int last, float* out)>;

}  // namespace txsim
