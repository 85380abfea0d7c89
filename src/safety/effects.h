// Effects of an invocation on files: which paths it writes or destroys, read from its
// redirections and from the arguments of the common file tools (cp, mv, tee, dd, sed -i, ...).
#pragma once

#include <string>
#include <vector>

#include "safety/invocation.h"

namespace cmdai::safety {

// Paths whose content is overwritten, appended to or truncated (redirections, tee, cp/mv/ln/
// install destinations, dd of=, truncate, sed -i / perl -i files, shred, curl -o, wget -O).
// Harmless sinks such as /dev/null are left out.
std::vector<std::string> written_paths(const Invocation& invocation);

// Paths removed or moved away: rm/unlink/shred operands and mv sources.
std::vector<std::string> destroyed_paths(const Invocation& invocation);

// Output redirections to files (not descriptors, not harmless sinks).
std::vector<std::string> redirected_files(const Invocation& invocation);

}  // namespace cmdai::safety
