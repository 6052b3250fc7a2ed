// Acceptance 1: an ideal configuration reproduces float GEMM forward and backward.
#include <gtest/gtest.h>

#include "test_util.h"
#include "txsim/mapped_matrix.h"

namespace txsim {
namespace {

struct IdealCase {
  ReadMode mode;
  Mapping mapping;
  int in, out, batch;
};

class IdealMatchesFloatGemm : public ::testing::TestWithParam<IdealCase> {};

TEST_P(IdealMatchesFloatGemm, ForwardAndBackwardWithin1e5) {
  const IdealCase p = GetParam();
  const CrossbarConfig config = test::ideal_config(p.mode, p.mapping);
  MappedMatrix layer(config, p.in, p.out, 11);
  const auto w = test::normal_matrix(static_cast<std::size_t>(p.out) * p.in, 1);
  const auto x = test::normal_matrix(static_cast<std::size_t>(p.batch) * p.in, 2);
  const auto d = test::normal_matrix(static_cast<std::size_t>(p.batch) * p.out, 3);
  layer.program(w.data());
  // Odd shapes leave the last crossbar of each direction partly empty.
  ASSERT_NE(p.in % config.crossbar.rows, 0);
  ASSERT_NE(p.out % config.crossbar.weight_cols(), 0);

  std::vector<float> y(static_cast<std::size_t>(p.batch) * p.out), dx(static_cast<std::size_t>(p.batch) * p.in);
  layer.forward(x.data(), p.batch, y.data());
  layer.backward(d.data(), p.batch, dx.data());
  EXPECT_LT(test::relative_error(y, test::gemm_forward(x, w, p.batch, p.in, p.out)), 1e-5);
  EXPECT_LT(test::relative_error(dx, test::gemm_backward(d, w, p.batch, p.in, p.out)), 1e-5);
  EXPECT_LT(test::relative_error(layer.weights(), w), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, IdealMatchesFloatGemm,
    ::testing::Values(IdealCase{ReadMode::PerSlice, Mapping::Differential, 300, 170, 7},
                      IdealCase{ReadMode::Folded, Mapping::Differential, 300, 170, 7},
                      IdealCase{ReadMode::PerSlice, Mapping::Offset, 131, 255, 5},
                      IdealCase{ReadMode::Folded, Mapping::Offset, 131, 255, 5},
                      IdealCase{ReadMode::Folded, Mapping::Differential, 1, 129, 3},
                      IdealCase{ReadMode::PerSlice, Mapping::Differential, 257, 1, 2}),
    [](const ::testing::TestParamInfo<IdealCase>& info) {
      const IdealCase& p = info.param;
      return std::string(p.mode == ReadMode::PerSlice ? "PerSlice" : "Folded") +
             (p.mapping == Mapping::Differential ? "Differential" : "Offset") + "_" + std::to_string(p.out) + "x" +
             std::to_string(p.in) + "_batch" + std::to_string(p.batch);
    });

}  // namespace
}  // namespace txsim
