// The version of the installed Annals library.
#pragma once

namespace annals {

// "MAJOR.MINOR.PATCH", as the library was built (the header may be newer
// than the library an app finds at run time; this says which one it got).
const char* version();

}  // namespace annals
