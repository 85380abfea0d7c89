#include "serve/auth.h"

#include <gtest/gtest.h>

namespace cmdai::serve {
namespace {

TEST(Auth, ConstantTimeEqualComparesWholeStrings) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(Auth, BearerOrApiKeyHeaderIsAccepted) {
  EXPECT_TRUE(authorized("k1", "Bearer k1", ""));
  EXPECT_TRUE(authorized("k1", "", "k1"));
  EXPECT_FALSE(authorized("k1", "Bearer k2", ""));
  EXPECT_FALSE(authorized("k1", "Basic k1", ""));
  EXPECT_FALSE(authorized("k1", "", ""));
  EXPECT_TRUE(authorized("", "", ""));  // no key configured: open (loopback only)
}

TEST(Auth, NonLoopbackHostNeedsAKey) {
  EXPECT_TRUE(check_bind_policy("127.0.0.1", "").ok());
  EXPECT_TRUE(check_bind_policy("127.1.2.3", "").ok());
  EXPECT_TRUE(check_bind_policy("::1", "").ok());
  EXPECT_TRUE(check_bind_policy("localhost", "").ok());
  EXPECT_FALSE(check_bind_policy("0.0.0.0", "").ok());
  EXPECT_FALSE(check_bind_policy("::", "").ok());
  EXPECT_FALSE(check_bind_policy("192.168.1.5", "").ok());
  EXPECT_TRUE(check_bind_policy("0.0.0.0", "key").ok());
}

}  // namespace
}  // namespace cmdai::serve
