// ModelRepository: model metadata.
//
// A row's identity is (source, repo, filename, snapshot, api_model_id). The
// table keeps it NOT NULL (api_model_key is api_model_id, or '' when absent)
// under one unique index, so an upsert is one INSERT ... ON CONFLICT DO
// UPDATE: no duplicate rows, no delete-then-insert. The stream of an
// identity is named by its SHA-256, and the journal reserves it
// ("model_metadata.identity").

#include <iterator>
#include <set>

#include "core/sha256.h"
#include "repositories/enum_names.h"
#include "repositories/model_repository_internal.h"
#include "repositories/reservation_rules.h"

namespace annals::repositories::model_internal {
namespace {

constexpr const char* kIdentityRule = rules::kModelMetadataIdentity;
// A local file's row: no api_model_id.
constexpr const char* kLocalFile = "source = 'model' AND api_model_key = ''";

// Lower-case hex SHA-256 of the identity, each part length-prefixed so that
// no two identities encode alike.
std::string identity_digest(const ModelMetadataInput& m) {
  const std::string api_model_key = m.api_model_id.value_or("");
  std::string encoded;
  for (std::string_view part :
       {model_source_name(m.source), std::string_view(m.repo), std::string_view(m.filename),
        std::string_view(m.snapshot), std::string_view(api_model_key)}) {
    encoded += std::to_string(part.size());
    encoded += ':';
    encoded += part;
  }
  return sha256_hex(encoded);
}

Status validate_source(ModelSource source) {
  return validate_enum("source", kModelSourceNames, source);
}

Status validate_file(std::string_view repo, std::string_view filename, std::string_view snapshot,
                     bool allow_empty) {
  ANNALS_RETURN_IF_ERROR(validate_text("repo", repo, {kMaxRepoBytes, allow_empty}));
  ANNALS_RETURN_IF_ERROR(validate_text("filename", filename, {kMaxFilenameBytes, allow_empty}));
  return validate_text("snapshot", snapshot, {kMaxSnapshotBytes, allow_empty});
}

Status validate_tokens(std::string_view field, const std::optional<int64_t>& tokens) {
  if (tokens.has_value() && *tokens < 0) {
    return Status::invalid_argument(std::string(field),
                                    std::string(field) + " must not be negative");
  }
  return Status::ok();
}

Status validate_input(const ModelMetadataInput& m) {
  ANNALS_RETURN_IF_ERROR(validate_source(m.source));
  ANNALS_RETURN_IF_ERROR(validate_file(m.repo, m.filename, m.snapshot,
                                       /*allow_empty=*/m.source == ModelSource::kApi));
  if (m.api_model_id.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_text("api_model_id", *m.api_model_id, {kMaxApiModelIdBytes}));
  } else if (m.source == ModelSource::kApi) {
    return Status::invalid_argument("api_model_id", "an api model needs its api_model_id");
  }
  ANNALS_RETURN_IF_ERROR(validate_tokens("max_input_tokens", m.max_input_tokens));
  ANNALS_RETURN_IF_ERROR(validate_tokens("max_output_tokens", m.max_output_tokens));
  if (m.architecture.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_json("architecture", *m.architecture, kMaxArchitectureBytes));
  }
  if (m.additional_metadata.has_value()) {
    ANNALS_RETURN_IF_ERROR(
        validate_json("additional_metadata", *m.additional_metadata, kMaxAdditionalMetadataBytes));
  }
  if (m.chat_template.has_value()) {
    ANNALS_RETURN_IF_ERROR(
        validate_text("chat_template", *m.chat_template, {kMaxChatTemplateBytes, true}));
  }
  return Status::ok();
}

schema::Flag to_flag(const std::optional<bool>& b) {
  if (!b.has_value()) return schema::Flag::UNKNOWN;
  return *b ? schema::Flag::YES : schema::Flag::NO;
}

using M = ModelMetadata;
using Capabilities = ModelCapabilities;
const Columns<ModelMetadata> kColumns{
    {"id", &M::id},
    {"source", &M::source},
    {"repo", &M::repo},
    {"filename", &M::filename},
    {"snapshot", &M::snapshot},
    {"api_model_id", &M::api_model_id},
    {"capabilities_vision", &M::capabilities, &Capabilities::vision},
    {"capabilities_audio", &M::capabilities, &Capabilities::audio},
    {"capabilities_thinking", &M::capabilities, &Capabilities::thinking},
    {"capabilities_function_calling", &M::capabilities, &Capabilities::function_calling},
    {"capabilities_structured_output", &M::capabilities, &Capabilities::structured_output},
    {"max_input_tokens", &M::max_input_tokens},
    {"max_output_tokens", &M::max_output_tokens},
    {"architecture", &M::architecture},
    {"additional_metadata", &M::additional_metadata},
    {"chat_template", &M::chat_template},
    {"extracted_at", &M::extracted_at},
    {"created_at", &M::created_at},
    {"updated_at", &M::updated_at},
};

}  // namespace

Result<ModelMetadata> SqlModelRepository::upsert_model_metadata(std::string_view org_id,
                                                                const ModelMetadataInput& m) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_input(m));

  const std::string digest = identity_digest(m);
  Command cmd(ctx_, org_id, "model_metadata/" + digest, "system");
  // One identity, one stream: the last upsert wins, and every upsert of the
  // identity lands on the same row.
  cmd.claim(kIdentityRule, digest);
  auto p = cmd.add_event().initModel().initModelMetadataUpserted();
  p.setSource(schema_of(kModelSourceNames, m.source));
  p.setRepo(m.repo);
  p.setFilename(m.filename);
  p.setSnapshot(m.snapshot);
  if (m.api_model_id.has_value()) {
    p.setApiModelId(*m.api_model_id);
    p.setHasApiModelId(true);
  }
  p.setVision(to_flag(m.capabilities.vision));
  p.setAudio(to_flag(m.capabilities.audio));
  p.setThinking(to_flag(m.capabilities.thinking));
  p.setFunctionCalling(to_flag(m.capabilities.function_calling));
  p.setStructuredOutput(to_flag(m.capabilities.structured_output));
  if (m.max_input_tokens.has_value()) {
    p.setMaxInputTokens(*m.max_input_tokens);
    p.setHasMaxInputTokens(true);
  }
  if (m.max_output_tokens.has_value()) {
    p.setMaxOutputTokens(*m.max_output_tokens);
    p.setHasMaxOutputTokens(true);
  }
  if (m.architecture.has_value()) {
    p.setArchitecture(*m.architecture);
    p.setHasArchitecture(true);
  }
  if (m.additional_metadata.has_value()) {
    p.setAdditionalMetadata(*m.additional_metadata);
    p.setHasAdditionalMetadata(true);
  }
  if (m.chat_template.has_value()) {
    p.setChatTemplate(*m.chat_template);
    p.setHasChatTemplate(true);
  }
  p.setExtractedAtMicros(to_micros(m.extracted_at));
  ANNALS_RETURN_IF_ERROR(cmd.append().status());
  ANNALS_ASSIGN_OR_RETURN(auto row, find_metadata(org_id, m));
  if (!row.has_value()) return Status::internal("model metadata upserted but not found");
  return *row;
}

Result<ModelMetadata> SqlModelRepository::get_model_metadata(std::string_view org_id,
                                                             std::string_view repo,
                                                             std::string_view filename,
                                                             std::string_view snapshot) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_file(repo, filename, snapshot, /*allow_empty=*/false));
  ModelMetadataInput identity;
  identity.repo = std::string(repo);
  identity.filename = std::string(filename);
  identity.snapshot = std::string(snapshot);
  ANNALS_ASSIGN_OR_RETURN(auto row, find_metadata(org_id, identity));
  if (!row.has_value()) {
    return Status::not_found("no model metadata for " + std::string(repo) + "/" +
                             std::string(filename) + "@" + std::string(snapshot));
  }
  return *row;
}

Result<std::map<ModelFileKey, ModelMetadata>> SqlModelRepository::get_model_metadata_batch(
    std::string_view org_id, const std::vector<ModelFileKey>& keys) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  if (keys.size() > kMaxMetadataBatchKeys) {
    return Status::invalid_argument("keys", "at most " + std::to_string(kMaxMetadataBatchKeys) +
                                                " keys per batch; got " +
                                                std::to_string(keys.size()));
  }
  for (const auto& k : keys) {
    ANNALS_RETURN_IF_ERROR(validate_file(k.repo, k.filename, k.snapshot, /*allow_empty=*/false));
  }
  std::map<ModelFileKey, ModelMetadata> out;
  std::set<ModelFileKey> unique(keys.begin(), keys.end());
  if (unique.empty()) return out;

  // The IN list is padded (repeating the last key) to a power of two, so a
  // few statement shapes serve every batch size.
  size_t slots = 1;
  while (slots < unique.size()) slots *= 2;
  std::vector<db::Value> params = {std::string(org_id)};
  std::string values;
  auto it = unique.begin();
  for (size_t i = 0; i < slots; ++i) {
    const ModelFileKey& k = *it;
    if (std::next(it) != unique.end()) ++it;
    size_t n = params.size();
    values += (i == 0 ? "($" : ", ($") + std::to_string(n + 1) + ", $" + std::to_string(n + 2) +
              ", $" + std::to_string(n + 3) + ")";
    params.push_back(k.repo);
    params.push_back(k.filename);
    params.push_back(k.snapshot);
  }
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  ANNALS_ASSIGN_OR_RETURN(
      auto rows,
      txn->query(
          kColumns.select("FROM model_metadata WHERE org_id = $1 AND " + std::string(kLocalFile) +
                          " AND (repo, filename, snapshot) IN (VALUES " + values + ")"),
          params));
  for (const auto& row : rows) {
    ModelMetadata m = kColumns.read(row);
    ModelFileKey key{m.repo, m.filename, m.snapshot};
    out.emplace(std::move(key), std::move(m));
  }
  return out;
}

Result<std::vector<ModelMetadata>> SqlModelRepository::list_model_metadata(
    std::string_view org_id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  return select_all(ctx_, org_id,
                    kColumns.select("FROM model_metadata WHERE org_id = $1"
                                    " ORDER BY source, repo, filename, snapshot, api_model_key"),
                    {std::string(org_id)}, kColumns.reader());
}

Result<std::optional<ModelMetadata>> SqlModelRepository::find_metadata(
    std::string_view org_id, const ModelMetadataInput& identity) {
  ANNALS_ASSIGN_OR_RETURN(auto txn, ctx_.read(org_id));
  ANNALS_ASSIGN_OR_RETURN(
      auto rows, txn->query(kColumns.select("FROM model_metadata WHERE org_id = $1 AND source = $2"
                                            " AND repo = $3 AND filename = $4 AND snapshot = $5"
                                            " AND api_model_key = $6"),
                            {std::string(org_id), std::string(model_source_name(identity.source)),
                             identity.repo, identity.filename, identity.snapshot,
                             identity.api_model_id.value_or("")}));
  if (rows.empty()) return std::optional<ModelMetadata>();
  return std::optional<ModelMetadata>(kColumns.read(rows.front()));
}

}  // namespace annals::repositories::model_internal
