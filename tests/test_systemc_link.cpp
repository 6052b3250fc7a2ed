#include <systemc>

#include <cstring>

#include <gtest/gtest.h>

// The library must be the 2.3.4 release and link with our C++17 objects.
TEST(SystemCLink, VersionIs234) { EXPECT_NE(std::strstr(sc_core::sc_release(), "2.3.4"), nullptr); }

int sc_main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
