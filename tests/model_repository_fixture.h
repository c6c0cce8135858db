// What the ModelRepository tests (model metadata, download requests, API model
// aliases) share: the repository fixture with a ModelRepository built over
// every store it opens, and the time its clock starts at.
#pragma once

#include <memory>
#include <ostream>

#include "annals/status.h"
#include "repositories/model_repository.h"
#include "repositories/operator.h"
#include "tests/conformance_helpers.h"

namespace annals::repositories {

inline const Timestamp kStart = testing::kFixtureStart;

class ModelRepositoryTest
    : public testing::OwnRepositoryTest<ModelRepository, make_model_repository> {
 protected:
  ModelRepository& models() { return repository(); }
};

}  // namespace annals::repositories
