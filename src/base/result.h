// Result<T> and Error: how every layer reports failure without exceptions.
// Only the CLI turns an Error into text on stderr and an exit code.
#pragma once

#include <fmt/format.h>

#include <string>
#include <utility>
#include <variant>

namespace cmdai {

// The seed's GeneratorError kinds plus what the file, network and CLI layers need.
enum class ErrorCode {
  kInvalidArgument,      // the caller asked for something impossible
  kNotFound,             // a file, model, key or tensor that is not there
  kIo,                   // the OS refused a read, write or map
  kCorruptFile,          // bytes from a file that break the format
  kUnsupported,          // a valid file using something we do not implement
  kPlatformUnsupported,  // the variant cannot run on this machine (CR-MLX-001)
  kModelLoadFailed,      // load() could not bring the model up
  kResourceExhausted,    // out of memory, disk or context
  kTimeout,              // the request ran past its deadline
  kDeviceError,          // the compute device faulted (CR-MLX-006)
  kCancelled,            // the user or caller stopped the request
  kNetwork,              // a download failed, or a server refused the request
  kUnavailable,          // a server cannot be reached, or says it is down (HTTP 502, 503, 504)
  kGenerationFailed,     // the model's output could not be used
  kInternal,             // a bug: an invariant did not hold
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  std::string to_string() const { return fmt::format("{}: {}", error_code_name(code), message); }
};

template <typename... Args>
Error make_error(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Error{code, fmt::format(format, std::forward<Args>(args)...)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }
  Error&& take_error() { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error&& take_error() { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

inline Status ok_status() { return Status(); }

}  // namespace cmdai

#define CMDAI_CONCAT_INNER(a, b) a##b
#define CMDAI_CONCAT(a, b) CMDAI_CONCAT_INNER(a, b)

// Returns the error of a Status or Result expression from the enclosing function.
#define CMDAI_TRY(expr)                                                 \
  do {                                                                  \
    auto cmdai_try_result_ = (expr);                                    \
    if (!cmdai_try_result_.ok()) return cmdai_try_result_.take_error(); \
  } while (0)

// `CMDAI_ASSIGN_OR_RETURN(auto x, f());` binds the value or returns the error.
#define CMDAI_ASSIGN_OR_RETURN(lhs, expr) \
  CMDAI_ASSIGN_OR_RETURN_IMPL(CMDAI_CONCAT(cmdai_result_, __LINE__), lhs, expr)
#define CMDAI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.take_error();           \
  lhs = std::move(tmp).value()
