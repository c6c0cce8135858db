// ModelRepository: names and the factory. The operations live in
// model_repository_{downloads,aliases,metadata}.cc.
#include "repositories/model_repository.h"

#include "repositories/model_repository_internal.h"

namespace annals::repositories {

std::string_view download_status_name(DownloadStatus status) {
  switch (status) {
    case DownloadStatus::kPending:
      return "pending";
    case DownloadStatus::kCompleted:
      return "completed";
    case DownloadStatus::kError:
      return "error";
  }
  return "unknown";
}

std::string_view model_source_name(ModelSource source) {
  switch (source) {
    case ModelSource::kModel:
      return "model";
    case ModelSource::kApi:
      return "api";
  }
  return "unknown";
}

std::unique_ptr<ModelRepository> make_model_repository(RepositoryContext& context) {
  return std::make_unique<model_internal::SqlModelRepository>(context);
}

}  // namespace annals::repositories
