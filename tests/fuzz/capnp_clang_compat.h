// Included ahead of every file of the fuzz build (clang 16, C++20). Cap'n
// Proto 0.9's capnp/blob.h compares `const char*` with kj::StringPtr, and
// kj/string.h leaves out that comparison under C++20, expecting the
// rewritten (reversed) member operator to serve; clang 16's rules for
// rewritten candidates (P2468R2) no longer pick it, so the header does not
// compile. These restore the comparison, in terms of the member operator.
// GCC accepts the header as it is; the ordinary build does not use this.
#pragma once

#include <kj/string.h>

namespace kj {

inline bool operator==(const char* a, const StringPtr& b) { return b == StringPtr(a); }
inline bool operator!=(const char* a, const StringPtr& b) { return !(b == StringPtr(a)); }

}  // namespace kj
