#include "serve/auth.h"

#include <arpa/inet.h>

#include <string>

namespace cmdai::serve {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited, so a mismatch early costs as much as one late.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string presented_key(std::string_view authorization, std::string_view api_key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() && authorization.substr(0, kBearer.size()) == kBearer) {
    return std::string(authorization.substr(kBearer.size()));
  }
  return std::string(api_key);
}

bool authorized(std::string_view configured_key, std::string_view authorization,
                std::string_view api_key_header) {
  if (configured_key.empty()) return true;
  const std::string key = presented_key(authorization, api_key_header);
  return !key.empty() && constant_time_equal(key, configured_key);
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

Status check_bind_policy(std::string_view host, std::string_view api_key) {
  if (is_loopback_host(host) || !api_key.empty()) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "--host {} is reachable from other machines: give an API key with --api-key "
                    "or CMDAI_API_KEY (clients send it as 'Authorization: Bearer <key>')",
                    host);
}

}  // namespace cmdai::serve
