// download_requests, api_model_aliases and model_metadata tables, from the
// model events.
#include "projections/standard_projections.h"
#include "projections/table_projection.h"

namespace annals::projections {
namespace {

using events::Event;
using events::PayloadType;
using ModelWhich = schema::ModelEvent::Which;

db::Value nullable_text(bool has, capnp::Text::Reader t) {
  return has ? db::Value(text(t)) : db::Value(db::Null{});
}

db::Value nullable_i64(bool has, int64_t v) { return has ? db::Value(v) : db::Value(db::Null{}); }

db::Value flag(schema::Flag f) {
  switch (f) {
    case schema::Flag::YES:
      return true;
    case schema::Flag::NO:
      return false;
    default:
      return db::Null{};
  }
}

std::string download_status(schema::DownloadStatus s) {
  switch (s) {
    case schema::DownloadStatus::PENDING:
      return "pending";
    case schema::DownloadStatus::COMPLETED:
      return "completed";
    case schema::DownloadStatus::ERROR:
      return "error";
  }
  return "unknown";  // refused by the table's CHECK
}

// Exactly one row must have changed.
Status one_row(Result<int64_t> changed, const char* what, capnp::Text::Reader id) {
  if (!changed.is_ok()) return changed.status();
  if (*changed != 1) {
    return Status::internal(std::string(what) + " for '" + text(id) +
                            "', which the projection does not hold");
  }
  return Status::ok();
}

class ModelProjection final : public TableProjection {
 public:
  ModelProjection()
      : TableProjection("model", {"download_requests", "api_model_aliases", "model_metadata"},
                        {PayloadType::MODEL}) {}

  Status apply(db::Transaction& txn, const Event& event) override {
    auto model = event.payload().getModel();
    switch (model.which()) {
      case ModelWhich::DOWNLOAD_REQUEST_CREATED:
        return download_created(txn, event, model.getDownloadRequestCreated());
      case ModelWhich::DOWNLOAD_REQUEST_UPDATED:
        return download_updated(txn, event, model.getDownloadRequestUpdated());
      case ModelWhich::API_MODEL_ALIAS_CREATED:
        return alias_created(txn, event, model.getApiModelAliasCreated());
      case ModelWhich::API_MODEL_ALIAS_UPDATED:
        return alias_updated(txn, event, model.getApiModelAliasUpdated());
      case ModelWhich::API_MODEL_ALIAS_MODELS_CACHED:
        return alias_cached(txn, event, model.getApiModelAliasModelsCached());
      case ModelWhich::API_MODEL_ALIAS_DELETED:
        return alias_deleted(txn, event, model.getApiModelAliasDeleted());
      case ModelWhich::MODEL_METADATA_UPSERTED:
        return metadata_upserted(txn, event, model.getModelMetadataUpserted());
      default:
        return Status::internal("model event of unknown kind " +
                                std::to_string(static_cast<int>(model.which())) + " at position " +
                                std::to_string(event.position()));
    }
  }

 private:
  static Status download_created(db::Transaction& txn, const Event& e,
                                 schema::DownloadRequest::Reader p) {
    int64_t position = static_cast<int64_t>(e.position());
    return txn.execute_deferred(
        "INSERT INTO download_requests (org_id, id, repo, filename, status, error, total_bytes,"
        " downloaded_bytes, started_at, created_at, updated_at, version, created_position,"
        " updated_position)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $12)",
        {std::string(e.org_id()), text(p.getId()), text(p.getRepo()), text(p.getFilename()),
         download_status(p.getStatus()), nullable_text(p.getHasError(), p.getError()),
         nullable_i64(p.getHasTotalBytes(), p.getTotalBytes()), p.getDownloadedBytes(),
         nullable_i64(p.getHasStartedAt(), p.getStartedAtMicros()), e.recorded_at_micros(),
         static_cast<int64_t>(e.stream_version()), position});
  }

  static Status download_updated(db::Transaction& txn, const Event& e,
                                 schema::DownloadRequest::Reader p) {
    return one_row(
        txn.execute(
            "UPDATE download_requests SET repo = $3, filename = $4, status = $5,"
            " error = $6, total_bytes = $7, downloaded_bytes = $8, started_at = $9,"
            " updated_at = $10, version = $11, updated_position = $12"
            " WHERE org_id = $1 AND id = $2",
            {std::string(e.org_id()), text(p.getId()), text(p.getRepo()), text(p.getFilename()),
             download_status(p.getStatus()), nullable_text(p.getHasError(), p.getError()),
             nullable_i64(p.getHasTotalBytes(), p.getTotalBytes()), p.getDownloadedBytes(),
             nullable_i64(p.getHasStartedAt(), p.getStartedAtMicros()), e.recorded_at_micros(),
             static_cast<int64_t>(e.stream_version()), static_cast<int64_t>(e.position())}),
        "download_request.updated", p.getId());
  }

  static Status alias_created(db::Transaction& txn, const Event& e,
                              schema::ApiModelAliasCreated::Reader p) {
    int64_t version = static_cast<int64_t>(e.stream_version());
    return txn.execute_deferred(
        "INSERT INTO api_model_aliases (org_id, id, api_format, base_url, models, prefix,"
        " forward_all_with_prefix, models_cache, cache_fetched_at, encrypted_api_key,"
        " created_at, updated_at, version, created_version, created_position)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0, $8, $9, $9, $10, $10, $11)",
        {std::string(e.org_id()), text(p.getId()), text(p.getApiFormat()), text(p.getBaseUrl()),
         text(p.getModels()), nullable_text(p.getHasPrefix(), p.getPrefix()),
         p.getForwardAllWithPrefix(), nullable_text(p.getHasApiKey(), p.getSealedApiKey()),
         e.recorded_at_micros(), version, static_cast<int64_t>(e.position())});
  }

  static Status alias_updated(db::Transaction& txn, const Event& e,
                              schema::ApiModelAliasUpdated::Reader p) {
    std::vector<db::Value> params = {std::string(e.org_id()),
                                     text(p.getId()),
                                     text(p.getApiFormat()),
                                     text(p.getBaseUrl()),
                                     text(p.getModels()),
                                     nullable_text(p.getHasPrefix(), p.getPrefix()),
                                     p.getForwardAllWithPrefix(),
                                     e.recorded_at_micros(),
                                     static_cast<int64_t>(e.stream_version())};
    std::string sql =
        "UPDATE api_model_aliases SET api_format = $3, base_url = $4, models = $5, prefix = $6,"
        " forward_all_with_prefix = $7, updated_at = $8, version = $9";
    auto key = p.getApiKey();
    switch (key.which()) {
      case schema::SecretChange::KEEP:
        break;
      case schema::SecretChange::SET:
        sql += ", encrypted_api_key = $10";
        params.push_back(text(key.getSet()));
        break;
      case schema::SecretChange::CLEAR:
        sql += ", encrypted_api_key = NULL";
        break;
      default:
        return Status::internal("api_model_alias.updated with an unknown API key change");
    }
    sql += " WHERE org_id = $1 AND id = $2";
    return one_row(txn.execute(sql, params), "api_model_alias.updated", p.getId());
  }

  static Status alias_cached(db::Transaction& txn, const Event& e,
                             schema::ApiModelAliasModelsCached::Reader p) {
    return one_row(
        txn.execute("UPDATE api_model_aliases SET models_cache = $3, cache_fetched_at = $4,"
                    " updated_at = $5, version = $6 WHERE org_id = $1 AND id = $2",
                    {std::string(e.org_id()), text(p.getId()), text(p.getModelsCache()),
                     p.getFetchedAtMicros(), e.recorded_at_micros(),
                     static_cast<int64_t>(e.stream_version())}),
        "api_model_alias.models_cached", p.getId());
  }

  static Status alias_deleted(db::Transaction& txn, const Event& e,
                              schema::ApiModelAliasDeleted::Reader p) {
    return one_row(txn.execute("DELETE FROM api_model_aliases WHERE org_id = $1 AND id = $2",
                               {std::string(e.org_id()), text(p.getId())}),
                   "api_model_alias.deleted", p.getId());
  }

  // One statement: the identity's row is created (id = this event's
  // position) or has everything but id and created_at replaced.
  static Status metadata_upserted(db::Transaction& txn, const Event& e,
                                  schema::ModelMetadataUpserted::Reader p) {
    std::string source;
    switch (p.getSource()) {
      case schema::ModelSource::MODEL:
        source = "model";
        break;
      case schema::ModelSource::API:
        source = "api";
        break;
      default:
        return Status::internal("model_metadata.upserted with an unknown source at position " +
                                std::to_string(e.position()));
    }
    std::string api_key = p.getHasApiModelId() ? text(p.getApiModelId()) : std::string();
    return txn.execute_deferred(
        "INSERT INTO model_metadata (org_id, id, source, repo, filename, snapshot,"
        " api_model_id, api_model_key, capabilities_vision, capabilities_audio,"
        " capabilities_thinking, capabilities_function_calling,"
        " capabilities_structured_output, max_input_tokens, max_output_tokens, architecture,"
        " additional_metadata, chat_template, extracted_at, created_at, updated_at, version)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, $19, $20, $20, $21)"
        " ON CONFLICT (org_id, source, repo, filename, snapshot, api_model_key) DO UPDATE SET"
        " api_model_id = excluded.api_model_id,"
        " capabilities_vision = excluded.capabilities_vision,"
        " capabilities_audio = excluded.capabilities_audio,"
        " capabilities_thinking = excluded.capabilities_thinking,"
        " capabilities_function_calling = excluded.capabilities_function_calling,"
        " capabilities_structured_output = excluded.capabilities_structured_output,"
        " max_input_tokens = excluded.max_input_tokens,"
        " max_output_tokens = excluded.max_output_tokens,"
        " architecture = excluded.architecture,"
        " additional_metadata = excluded.additional_metadata,"
        " chat_template = excluded.chat_template, extracted_at = excluded.extracted_at,"
        " updated_at = excluded.updated_at, version = excluded.version",
        {std::string(e.org_id()),
         static_cast<int64_t>(e.position()),
         source,
         text(p.getRepo()),
         text(p.getFilename()),
         text(p.getSnapshot()),
         nullable_text(p.getHasApiModelId(), p.getApiModelId()),
         api_key,
         flag(p.getVision()),
         flag(p.getAudio()),
         flag(p.getThinking()),
         flag(p.getFunctionCalling()),
         flag(p.getStructuredOutput()),
         nullable_i64(p.getHasMaxInputTokens(), p.getMaxInputTokens()),
         nullable_i64(p.getHasMaxOutputTokens(), p.getMaxOutputTokens()),
         nullable_text(p.getHasArchitecture(), p.getArchitecture()),
         nullable_text(p.getHasAdditionalMetadata(), p.getAdditionalMetadata()),
         nullable_text(p.getHasChatTemplate(), p.getChatTemplate()),
         p.getExtractedAtMicros(),
         e.recorded_at_micros(),
         static_cast<int64_t>(e.stream_version())});
  }
};

}  // namespace

std::unique_ptr<Projection> make_model_projection() { return std::make_unique<ModelProjection>(); }

}  // namespace annals::projections
