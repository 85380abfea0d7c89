#include "base/result.h"

#include <gtest/gtest.h>

namespace cmdai {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return make_error(ErrorCode::kInvalidArgument, "{} is not positive", x);
  return x;
}

Result<int> doubled(int x) {
  CMDAI_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}

Status check(int x) {
  CMDAI_TRY(parse_positive(x));
  return ok_status();
}

TEST(Result, CarriesValueOrError) {
  EXPECT_EQ(doubled(4).value(), 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "-1 is not positive");
  EXPECT_TRUE(check(1).ok());
  EXPECT_EQ(check(0).error().code, ErrorCode::kInvalidArgument);
}

TEST(Result, ToStringNamesTheKind) {
  Error e{ErrorCode::kTimeout, "request took 31000 ms"};
  EXPECT_EQ(e.to_string(), "timeout: request took 31000 ms");
}

}  // namespace
}  // namespace cmdai
