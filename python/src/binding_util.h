// What the binding files share: float arrays as numpy hands them over, and the thread setting
// every call into the core runs under.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <omp.h>

#include <string>

namespace txsim_python {

namespace py = pybind11;

// Float32, C-contiguous, as it comes (no conversion: the Python side converts with a warning).
using Floats = py::array_t<float, py::array::c_style>;

// The rows of a (rows x width) array, or ValueError naming what it got.
inline int rows_of(const Floats& a, int width, const char* what) {
  if (a.ndim() != 2 || a.shape(1) != width)
    throw py::value_error(std::string(what) + ": expected a 2-D float32 array of shape (rows, " + std::to_string(width) +
                          "), got " + std::to_string(a.ndim()) + "-D" +
                          (a.ndim() == 2 ? " with " + std::to_string(a.shape(1)) + " columns" : std::string()));
  if (a.shape(0) < 1) throw py::value_error(std::string(what) + ": at least one row needed");
  return static_cast<int>(a.shape(0));
}

inline Floats matrix(int rows, int cols) { return Floats({rows, cols}); }

// TxSim keeps OpenBLAS single-threaded on the threads that call it (its own pool parallelizes),
// which it does by OpenMP's per-thread thread count; torch reads the same count on the Python
// thread for its own operators. Each call into the core sets it to 1 and gives torch its count
// back, so neither changes the other's threads or numbers.
class SerialBlas {
 public:
  SerialBlas() : before_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SerialBlas() { omp_set_num_threads(before_); }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int before_;
};

}  // namespace txsim_python
