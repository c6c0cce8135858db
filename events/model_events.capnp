@0x8d5b73609e447619;
# Events of the ModelRepository: download requests, API model aliases, model metadata.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.
#
# Nullable values are a value plus a "has..." flag: the flag false means SQL NULL.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

using Common = import "common.capnp";

struct ModelEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    # Stream "download_request/<id>".
    downloadRequestCreated @1 :DownloadRequest;
    downloadRequestUpdated @2 :DownloadRequest;  # the whole row after the update
    # Stream "api_alias/<id>".
    apiModelAliasCreated @3 :ApiModelAliasCreated;
    apiModelAliasUpdated @4 :ApiModelAliasUpdated;
    apiModelAliasModelsCached @5 :ApiModelAliasModelsCached;
    apiModelAliasDeleted @6 :ApiModelAliasDeleted;
    # Stream "model_metadata/<sha-256 of the identity>".
    modelMetadataUpserted @7 :ModelMetadataUpserted;
  }
}

# --- Download requests --------------------------------------------------------

enum DownloadStatus {
  pending @0;
  completed @1;
  error @2;
}

struct DownloadRequest {
  id @0 :Text;
  repo @1 :Text;
  filename @2 :Text;
  status @3 :DownloadStatus;
  error @4 :Text;
  hasError @5 :Bool;
  totalBytes @6 :Int64;
  hasTotalBytes @7 :Bool;
  downloadedBytes @8 :Int64;
  startedAtMicros @9 :Int64;
  hasStartedAt @10 :Bool;
}

# --- API model aliases --------------------------------------------------------

struct ApiModelAliasCreated {
  id @0 :Text;
  apiFormat @1 :Text;
  baseUrl @2 :Text;
  models @3 :Text;                 # JSON array, as given
  prefix @4 :Text;
  hasPrefix @5 :Bool;
  forwardAllWithPrefix @6 :Bool;
  sealedApiKey @7 :Text;           # Secrets::seal output, purpose "api_model_aliases.api_key/<id>"
  hasApiKey @8 :Bool;
}

# Every field after the update; the API key as an instruction.
struct ApiModelAliasUpdated {
  id @0 :Text;
  apiFormat @1 :Text;
  baseUrl @2 :Text;
  models @3 :Text;
  prefix @4 :Text;
  hasPrefix @5 :Bool;
  forwardAllWithPrefix @6 :Bool;
  apiKey @7 :Common.SecretChange;  # set: sealed, purpose "api_model_aliases.api_key/<id>"
}

# The models the remote API listed, and when they were fetched.
struct ApiModelAliasModelsCached {
  id @0 :Text;
  modelsCache @1 :Text;            # JSON, as given
  fetchedAtMicros @2 :Int64;
}

struct ApiModelAliasDeleted {
  id @0 :Text;
}

# --- Model metadata -----------------------------------------------------------

enum ModelSource {
  model @0;  # a local file: repo, filename, snapshot
  api @1;    # a remote model: apiModelId
}

# Creates the row of its identity (source, repo, filename, snapshot,
# apiModelId) or replaces every other field of it; the row's integer id is
# the position of the event that first created it.
struct ModelMetadataUpserted {
  source @0 :ModelSource;
  repo @1 :Text;
  filename @2 :Text;
  snapshot @3 :Text;
  apiModelId @4 :Text;
  hasApiModelId @5 :Bool;
  vision @6 :Common.Flag;
  audio @7 :Common.Flag;
  thinking @8 :Common.Flag;
  functionCalling @9 :Common.Flag;
  structuredOutput @10 :Common.Flag;
  maxInputTokens @11 :Int64;
  hasMaxInputTokens @12 :Bool;
  maxOutputTokens @13 :Int64;
  hasMaxOutputTokens @14 :Bool;
  architecture @15 :Text;          # JSON, as given
  hasArchitecture @16 :Bool;
  additionalMetadata @17 :Text;    # JSON, as given
  hasAdditionalMetadata @18 :Bool;
  chatTemplate @19 :Text;
  hasChatTemplate @20 :Bool;
  extractedAtMicros @21 :Int64;
}
