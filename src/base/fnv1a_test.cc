#include "base/fnv1a.h"

#include <gtest/gtest.h>

#include <string_view>

namespace cmdai {
namespace {

TEST(Fnv1a, MatchesTheReferenceVectorsAndChains) {
  // Published FNV-1a 64-bit values: "" is the offset basis, "a" and "foobar" the usual vectors.
  EXPECT_EQ(fnv1a("", 0), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a("a", 1), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a("foobar", 6), 0x85944171f73967e8ull);
  // Hashing in pieces equals hashing the whole.
  EXPECT_EQ(fnv1a("bar", 3, fnv1a("foo", 3)), fnv1a("foobar", 6));
}

}  // namespace
}  // namespace cmdai
