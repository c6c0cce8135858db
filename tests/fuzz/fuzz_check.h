// What the fuzz targets share: a check that aborts (so libFuzzer keeps the
// input) with a message saying what failed.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(condition, what)                                                  \
  do {                                                                               \
    if (!(condition)) {                                                              \
      std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #condition, \
                   std::string(what).c_str());                                       \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
