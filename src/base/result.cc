#include "base/result.h"

namespace cmdai {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kIo:
      return "I/O error";
    case ErrorCode::kCorruptFile:
      return "corrupt file";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kPlatformUnsupported:
      return "platform unsupported";
    case ErrorCode::kModelLoadFailed:
      return "model load failed";
    case ErrorCode::kResourceExhausted:
      return "resource exhausted";
    case ErrorCode::kTimeout:
      return "timeout";
    case ErrorCode::kDeviceError:
      return "device error";
    case ErrorCode::kCancelled:
      return "cancelled";
    case ErrorCode::kNetwork:
      return "network error";
    case ErrorCode::kUnavailable:
      return "server unavailable";
    case ErrorCode::kGenerationFailed:
      return "generation failed";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown error";
}

}  // namespace cmdai
