#include <gtest/gtest.h>
TEST(AptIndex, Placeholder) {}
