// ModelRepository: model file download requests, API model aliases (remote
// OpenAI-style APIs, with their sealed API keys) and model metadata (what was
// learnt about a local file or a remote model).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "annals/clock.h"
#include "annals/page.h"
#include "annals/secret_change.h"
#include "annals/status.h"

namespace annals::repositories {

// --- Download requests ---------------------------------------------------------

enum class DownloadStatus { kPending, kCompleted, kError };
std::string_view download_status_name(DownloadStatus status);

struct DownloadRequest {
  std::string id;
  std::string repo;
  std::string filename;
  DownloadStatus status = DownloadStatus::kPending;
  std::optional<std::string> error;
  std::optional<int64_t> total_bytes;
  int64_t downloaded_bytes = 0;
  std::optional<Timestamp> started_at;
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const DownloadRequest&) const = default;
};

// What create and update are given: every field but the times the journal
// stamps. For update, `id` names the row and everything else replaces it.
struct DownloadRequestInput {
  std::string id;  // chosen by the caller (a UUID)
  std::string repo;
  std::string filename;
  DownloadStatus status = DownloadStatus::kPending;
  std::optional<std::string> error;
  std::optional<int64_t> total_bytes;  // >= 0
  int64_t downloaded_bytes = 0;        // >= 0
  std::optional<Timestamp> started_at;

  bool operator==(const DownloadRequestInput&) const = default;
};

inline constexpr size_t kMaxDownloadIdBytes = 64;
inline constexpr size_t kMaxRepoBytes = 255;
inline constexpr size_t kMaxFilenameBytes = 512;
inline constexpr size_t kMaxSnapshotBytes = 255;
inline constexpr size_t kMaxDownloadErrorBytes = 16 * 1024;

// --- API model aliases ----------------------------------------------------------

struct ApiModelAlias {
  std::string id;
  std::string api_format;  // e.g. "openai"
  std::string base_url;
  std::string models;                 // a JSON array, byte for byte as given
  std::optional<std::string> prefix;  // non-empty prefixes are unique in the org
  bool forward_all_with_prefix = false;
  std::optional<std::string> models_cache;  // JSON, byte for byte as given
  Timestamp cache_fetched_at;               // the epoch until the cache is first set
  bool has_api_key = false;                 // the key itself only through get_api_key()
  Timestamp created_at;
  Timestamp updated_at;

  bool operator==(const ApiModelAlias&) const = default;
};

struct NewApiModelAlias {
  std::string id;  // chosen by the caller; reusable once the alias is deleted
  std::string api_format;
  std::string base_url;
  std::string models;
  std::optional<std::string> prefix;
  bool forward_all_with_prefix = false;
  std::optional<std::string> api_key;  // plain text; stored sealed

  bool operator==(const NewApiModelAlias&) const = default;
};

// Replaces every field below; the models cache is left as it is.
struct ApiModelAliasUpdate {
  std::string api_format;
  std::string base_url;
  std::string models;
  std::optional<std::string> prefix;
  bool forward_all_with_prefix = false;
  SecretChange api_key;  // keep, set or clear

  bool operator==(const ApiModelAliasUpdate&) const = default;
};

inline constexpr size_t kMaxApiAliasIdBytes = 64;
inline constexpr size_t kMaxApiFormatBytes = 32;
inline constexpr size_t kMaxBaseUrlBytes = 2048;
inline constexpr size_t kMaxApiModelsBytes = 256 * 1024;
inline constexpr size_t kMaxApiPrefixBytes = 255;
inline constexpr size_t kMaxModelsCacheBytes = 1024 * 1024;
inline constexpr size_t kMaxApiKeyBytes = 4096;

// --- Model metadata -------------------------------------------------------------

enum class ModelSource { kModel, kApi };
std::string_view model_source_name(ModelSource source);

// Unknown (nullopt), no or yes.
struct ModelCapabilities {
  std::optional<bool> vision;
  std::optional<bool> audio;
  std::optional<bool> thinking;
  std::optional<bool> function_calling;
  std::optional<bool> structured_output;

  bool operator==(const ModelCapabilities&) const = default;
};

// A row is identified by (source, repo, filename, snapshot, api_model_id);
// an absent api_model_id is part of the identity like any value.
// kModel: repo, filename and snapshot are required (a local file).
// kApi: api_model_id is required; repo, filename and snapshot may be empty.
struct ModelMetadataInput {
  ModelSource source = ModelSource::kModel;
  std::string repo;
  std::string filename;
  std::string snapshot;
  std::optional<std::string> api_model_id;  // non-empty when present
  ModelCapabilities capabilities;
  std::optional<int64_t> max_input_tokens;         // >= 0
  std::optional<int64_t> max_output_tokens;        // >= 0
  std::optional<std::string> architecture;         // JSON
  std::optional<std::string> additional_metadata;  // JSON
  std::optional<std::string> chat_template;
  Timestamp extracted_at;

  bool operator==(const ModelMetadataInput&) const = default;
};

struct ModelMetadata {
  int64_t id = 0;  // the journal position of the upsert that created the row
  ModelSource source = ModelSource::kModel;
  std::string repo;
  std::string filename;
  std::string snapshot;
  std::optional<std::string> api_model_id;
  ModelCapabilities capabilities;
  std::optional<int64_t> max_input_tokens;
  std::optional<int64_t> max_output_tokens;
  std::optional<std::string> architecture;
  std::optional<std::string> additional_metadata;
  std::optional<std::string> chat_template;
  Timestamp extracted_at;
  Timestamp created_at;  // survives later upserts, as does id
  Timestamp updated_at;

  bool operator==(const ModelMetadata&) const = default;
};

// A local model file.
struct ModelFileKey {
  std::string repo;
  std::string filename;
  std::string snapshot;

  auto operator<=>(const ModelFileKey&) const = default;
  bool operator==(const ModelFileKey&) const = default;
};

inline constexpr size_t kMaxApiModelIdBytes = 255;
inline constexpr size_t kMaxArchitectureBytes = 64 * 1024;
inline constexpr size_t kMaxAdditionalMetadataBytes = 256 * 1024;
inline constexpr size_t kMaxChatTemplateBytes = 256 * 1024;
inline constexpr size_t kMaxMetadataBatchKeys = 1000;

// Thread-safe. Every call is scoped to one org and validates org_id first.
// Bad input is kInvalidArgument naming the field, and nothing is written.
// Any call may also fail with kUnavailable (storage) or kTimedOut (written,
// not yet visible).
class ModelRepository {
 public:
  virtual ~ModelRepository() = default;

  // --- Download requests (stream "download_request/<id>") ---

  // kConflict naming "download_request.id" when the id is taken.
  virtual Result<DownloadRequest> create_download_request(std::string_view org_id,
                                                          const DownloadRequestInput& request) = 0;
  // kNotFound when the org has no such request.
  virtual Result<DownloadRequest> get_download_request(std::string_view org_id,
                                                       std::string_view id) = 0;
  // Replaces every field of the request `request.id`; created_at survives.
  // kNotFound when missing; kConcurrencyConflict when another update got
  // there first (re-read and retry).
  virtual Result<DownloadRequest> update_download_request(std::string_view org_id,
                                                          const DownloadRequestInput& request) = 0;
  // Most recently updated first (equal times: the later write first).
  virtual Result<Page<DownloadRequest>> list_download_requests(std::string_view org_id,
                                                               int64_t page, int64_t per_page) = 0;
  // Every request for the file, newest first (equal times: the later create first).
  virtual Result<std::vector<DownloadRequest>> find_download_requests(
      std::string_view org_id, std::string_view repo, std::string_view filename) = 0;

  // --- API model aliases (stream "api_alias/<id>") ---

  // Seals the API key (kInvalidArgument naming "master_key" when the store
  // has none). kConflict naming "api_alias.id" when a live alias has the id,
  // "api_alias.prefix" when another alias of the org has the non-empty prefix.
  virtual Result<ApiModelAlias> create_api_alias(std::string_view org_id,
                                                 const NewApiModelAlias& alias) = 0;
  // kNotFound when the org has no such alias.
  virtual Result<ApiModelAlias> get_api_alias(std::string_view org_id, std::string_view id) = 0;
  // kNotFound, kConflict "api_alias.prefix", kConcurrencyConflict (retry).
  virtual Result<ApiModelAlias> update_api_alias(std::string_view org_id, std::string_view id,
                                                 const ApiModelAliasUpdate& update) = 0;
  // Sets models_cache (JSON) and cache_fetched_at (updated_at moves too).
  // kNotFound, kConcurrencyConflict.
  virtual Result<ApiModelAlias> update_api_alias_cache(std::string_view org_id, std::string_view id,
                                                       std::string_view models_cache,
                                                       Timestamp fetched_at) = 0;
  // Frees the prefix and the id. kNotFound, kConcurrencyConflict.
  virtual Status delete_api_alias(std::string_view org_id, std::string_view id) = 0;
  // Newest first (equal times: the later create first).
  virtual Result<std::vector<ApiModelAlias>> list_api_aliases(std::string_view org_id) = 0;
  // The decrypted key. kNotFound when there is no such alias or it has no key.
  virtual Result<std::string> get_api_key(std::string_view org_id, std::string_view id) = 0;
  // Whether an alias of the org (other than `excluding_id`) has exactly this
  // prefix. Empty prefixes are not unique, but are matched like any value.
  virtual Result<bool> prefix_exists(std::string_view org_id, std::string_view prefix,
                                     std::optional<std::string> excluding_id) = 0;

  // --- Model metadata (stream "model_metadata/<sha-256 of the identity>") ---

  // Creates the row of the identity or replaces every other field of it
  // (id and created_at survive). Never duplicates, never deletes.
  virtual Result<ModelMetadata> upsert_model_metadata(std::string_view org_id,
                                                      const ModelMetadataInput& metadata) = 0;
  // The local file's row (source kModel, no api_model_id). kNotFound.
  virtual Result<ModelMetadata> get_model_metadata(std::string_view org_id, std::string_view repo,
                                                   std::string_view filename,
                                                   std::string_view snapshot) = 0;
  // The rows of the local files among `keys` (at most kMaxMetadataBatchKeys),
  // in one query; files without metadata are absent from the map.
  virtual Result<std::map<ModelFileKey, ModelMetadata>> get_model_metadata_batch(
      std::string_view org_id, const std::vector<ModelFileKey>& keys) = 0;
  // Ordered by source name ("api" before "model"), repo, filename (then
  // snapshot, api_model_id).
  virtual Result<std::vector<ModelMetadata>> list_model_metadata(std::string_view org_id) = 0;
};

}  // namespace annals::repositories
