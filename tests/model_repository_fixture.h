// What the ModelRepository tests (model metadata, download requests, API model
// aliases) share: the repository fixture with a ModelRepository built over
// every store it opens, and the status printer.
#pragma once

#include <memory>
#include <ostream>

#include "annals/status.h"
#include "repositories/model_repository.h"
#include "repositories/operator.h"
#include "tests/conformance_helpers.h"

namespace annals {

inline void PrintTo(Code code, std::ostream* os) { *os << code_name(code); }

namespace repositories {

class ModelRepositoryTest : public testing::RepositoryTest {
 protected:
  void opened() override {
    context_ = std::make_unique<RepositoryContext>(
        store().internals().journal(), store().internals().database(),
        store().internals().projector(), store().clock(), RepositoryOptions{},
        store().internals().secrets());
    repo_ = make_model_repository(*context_);
  }

  void close() override {
    repo_.reset();
    context_.reset();
    RepositoryTest::close();
  }

  ModelRepository& models() { return *repo_; }

 private:
  std::unique_ptr<RepositoryContext> context_;
  std::unique_ptr<ModelRepository> repo_;
};

}  // namespace repositories
}  // namespace annals
