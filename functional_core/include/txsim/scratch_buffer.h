// Scratch buffers shared by calls of many shapes (the reads of every layer, the convolutions'
// per-call buffers).
#pragma once

#include <cstddef>
#include <vector>

namespace txsim {

// Makes v hold at least n elements and never shrinks it. std::vector::resize zero-fills what it
// adds, so a shared buffer resized to each call's exact size clears the difference every time a
// larger call follows a smaller one (tens of MB per analog convolution). Callers use the first
// n elements and never v.size().
template <class T>
void grow_to(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace txsim
