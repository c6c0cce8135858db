// The SQL implementation of ModelRepository, shared by its .cc files (one
// per concern: downloads, API aliases, metadata). Not part of the API.
#pragma once

#include <string>
#include <string_view>

#include "core/validate.h"
#include "repositories/columns.h"
#include "repositories/command.h"
#include "repositories/common.h"
#include "repositories/model_repository.h"

namespace annals::repositories::model_internal {

// The rows as read from the tables: the value, the version of its stream
// and what else the repository needs.
using StoredDownload = Versioned<DownloadRequest>;
struct StoredAlias : ApiModelAlias {
  std::optional<std::string> sealed_api_key;
  uint64_t version = 0;
  uint64_t created_version = 0;  // stream version of the alias's create
};

class SqlModelRepository final : public ModelRepository {
 public:
  explicit SqlModelRepository(RepositoryContext& context) : ctx_(context) {}

  // model_repository_downloads.cc
  Result<DownloadRequest> create_download_request(std::string_view org_id,
                                                  const DownloadRequestInput& request) override;
  Result<DownloadRequest> get_download_request(std::string_view org_id,
                                               std::string_view id) override;
  Result<DownloadRequest> update_download_request(std::string_view org_id,
                                                  const DownloadRequestInput& request) override;
  Result<Page<DownloadRequest>> list_download_requests(std::string_view org_id, int64_t page,
                                                       int64_t per_page) override;
  Result<std::vector<DownloadRequest>> find_download_requests(std::string_view org_id,
                                                              std::string_view repo,
                                                              std::string_view filename) override;

  // model_repository_aliases.cc
  Result<ApiModelAlias> create_api_alias(std::string_view org_id,
                                         const NewApiModelAlias& alias) override;
  Result<ApiModelAlias> get_api_alias(std::string_view org_id, std::string_view id) override;
  Result<ApiModelAlias> update_api_alias(std::string_view org_id, std::string_view id,
                                         const ApiModelAliasUpdate& update) override;
  Result<ApiModelAlias> update_api_alias_cache(std::string_view org_id, std::string_view id,
                                               std::string_view models_cache,
                                               Timestamp fetched_at) override;
  Status delete_api_alias(std::string_view org_id, std::string_view id) override;
  Result<std::vector<ApiModelAlias>> list_api_aliases(std::string_view org_id) override;
  Result<std::string> get_api_key(std::string_view org_id, std::string_view id) override;
  Result<bool> prefix_exists(std::string_view org_id, std::string_view prefix,
                             std::optional<std::string> excluding_id) override;

  // model_repository_metadata.cc
  Result<ModelMetadata> upsert_model_metadata(std::string_view org_id,
                                              const ModelMetadataInput& metadata) override;
  Result<ModelMetadata> get_model_metadata(std::string_view org_id, std::string_view repo,
                                           std::string_view filename,
                                           std::string_view snapshot) override;
  Result<std::map<ModelFileKey, ModelMetadata>> get_model_metadata_batch(
      std::string_view org_id, const std::vector<ModelFileKey>& keys) override;
  Result<std::vector<ModelMetadata>> list_model_metadata(std::string_view org_id) override;

 private:
  Result<StoredDownload> find_download(std::string_view org_id, std::string_view id);
  Result<StoredAlias> find_alias(std::string_view org_id, std::string_view id);
  Result<std::optional<ModelMetadata>> find_metadata(std::string_view org_id,
                                                     const ModelMetadataInput& identity);

  RepositoryContext& ctx_;
};

}  // namespace annals::repositories::model_internal
