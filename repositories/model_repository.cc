// ModelRepository: names and the factory. The operations live in
// model_repository_{downloads,aliases,metadata}.cc.
#include "repositories/model_repository.h"

#include "repositories/enum_names.h"
#include "repositories/model_repository_internal.h"

namespace annals::repositories {

std::string_view download_status_name(DownloadStatus status) {
  return name_of(kDownloadStatusNames, status);
}

std::string_view model_source_name(ModelSource source) {
  return name_of(kModelSourceNames, source);
}

std::unique_ptr<ModelRepository> make_model_repository(RepositoryContext& context) {
  return std::make_unique<model_internal::SqlModelRepository>(context);
}

}  // namespace annals::repositories
