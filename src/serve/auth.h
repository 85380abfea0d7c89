// Who may use the server: an API key compared in constant time, and the rule that a server
// reachable from other machines must have one.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace cmdai::serve {

// True when `a` and `b` are equal; the time taken depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

// The key of "Authorization: Bearer <key>" (or an "x-api-key" header value passed as `api_key`).
// Empty when neither carries one.
std::string presented_key(std::string_view authorization, std::string_view api_key);

// With no key configured every request passes; else the presented key must match.
bool authorized(std::string_view configured_key, std::string_view authorization,
                std::string_view api_key_header);

// 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// kInvalidArgument when `host` is not loopback and `api_key` is empty.
Status check_bind_policy(std::string_view host, std::string_view api_key);

}  // namespace cmdai::serve
