// Whether this build runs under AddressSanitizer or ThreadSanitizer, as GCC (__SANITIZE_*__) and
// clang (__has_feature) say it: tests that bound time or memory allow for the sanitizers' cost.
#pragma once

#if !defined(__has_feature)
#define CMDAI_HAS_FEATURE(x) 0
#else
#define CMDAI_HAS_FEATURE(x) __has_feature(x)
#endif

namespace cmdai {

#if defined(__SANITIZE_ADDRESS__) || CMDAI_HAS_FEATURE(address_sanitizer)
inline constexpr bool kBuiltWithAddressSanitizer = true;
#else
inline constexpr bool kBuiltWithAddressSanitizer = false;
#endif
#if defined(__SANITIZE_THREAD__) || CMDAI_HAS_FEATURE(thread_sanitizer)
inline constexpr bool kBuiltWithThreadSanitizer = true;
#else
inline constexpr bool kBuiltWithThreadSanitizer = false;
#endif

}  // namespace cmdai

#undef CMDAI_HAS_FEATURE
