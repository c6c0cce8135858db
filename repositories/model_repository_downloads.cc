// ModelRepository: download requests.
#include "repositories/enum_names.h"
#include "repositories/model_repository_internal.h"

namespace annals::repositories::model_internal {
namespace {

constexpr const char* kIdRule = "download_request.id";
constexpr Prefixed stream_of{"download_request/"};

Status validate_status(DownloadStatus status) {
  return validate_enum("status", kDownloadStatusNames, status);
}

Status validate_id(std::string_view id) {
  return validate_identifier("id", id, kMaxDownloadIdBytes);
}

Status validate_file(std::string_view repo, std::string_view filename) {
  ANNALS_RETURN_IF_ERROR(validate_text("repo", repo, {kMaxRepoBytes}));
  return validate_text("filename", filename, {kMaxFilenameBytes});
}

Status validate_input(const DownloadRequestInput& r) {
  ANNALS_RETURN_IF_ERROR(validate_id(r.id));
  ANNALS_RETURN_IF_ERROR(validate_file(r.repo, r.filename));
  ANNALS_RETURN_IF_ERROR(validate_status(r.status));
  if (r.error.has_value()) {
    ANNALS_RETURN_IF_ERROR(validate_text("error", *r.error, {kMaxDownloadErrorBytes, true}));
  }
  if (r.total_bytes.has_value() && *r.total_bytes < 0) {
    return Status::invalid_argument("total_bytes", "total_bytes must not be negative");
  }
  if (r.downloaded_bytes < 0) {
    return Status::invalid_argument("downloaded_bytes", "downloaded_bytes must not be negative");
  }
  return Status::ok();
}

void fill(schema::DownloadRequest::Builder p, const DownloadRequestInput& r) {
  p.setId(r.id);
  p.setRepo(r.repo);
  p.setFilename(r.filename);
  p.setStatus(schema_of(kDownloadStatusNames, r.status));
  if (r.error.has_value()) {
    p.setError(*r.error);
    p.setHasError(true);
  }
  if (r.total_bytes.has_value()) {
    p.setTotalBytes(*r.total_bytes);
    p.setHasTotalBytes(true);
  }
  p.setDownloadedBytes(r.downloaded_bytes);
  if (r.started_at.has_value()) {
    p.setStartedAtMicros(to_micros(*r.started_at));
    p.setHasStartedAt(true);
  }
}

const Columns<StoredDownload> kColumns{
    {"id", &DownloadRequest::id},
    {"repo", &DownloadRequest::repo},
    {"filename", &DownloadRequest::filename},
    {"status", &DownloadRequest::status},
    {"error", &DownloadRequest::error},
    {"total_bytes", &DownloadRequest::total_bytes},
    {"downloaded_bytes", &DownloadRequest::downloaded_bytes},
    {"started_at", &DownloadRequest::started_at},
    {"created_at", &DownloadRequest::created_at},
    {"updated_at", &DownloadRequest::updated_at},
    {"version", &StoredDownload::version},
};

}  // namespace

Result<DownloadRequest> SqlModelRepository::create_download_request(
    std::string_view org_id, const DownloadRequestInput& request) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_input(request));

  auto cmd = Command::create(ctx_, org_id, stream_of(request.id), "system");
  fill(cmd.add_event().initModel().initDownloadRequestCreated(), request);
  return public_value<DownloadRequest>(cmd.append_or_taken_then(
      Status::conflict(kIdRule, "download request id '" + request.id + "' is already taken"),
      [&] { return find_download(org_id, request.id); }));
}

Result<DownloadRequest> SqlModelRepository::get_download_request(std::string_view org_id,
                                                                 std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  return public_value<DownloadRequest>(find_download(org_id, id));
}

Result<DownloadRequest> SqlModelRepository::update_download_request(
    std::string_view org_id, const DownloadRequestInput& request) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_input(request));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_download(org_id, request.id));

  auto cmd = Command::change(ctx_, org_id, stream_of(request.id), "system", stored.version);
  fill(cmd.add_event().initModel().initDownloadRequestUpdated(), request);
  return public_value<DownloadRequest>(
      cmd.append_then([&] { return find_download(org_id, request.id); }));
}

Result<Page<DownloadRequest>> SqlModelRepository::list_download_requests(std::string_view org_id,
                                                                         int64_t page,
                                                                         int64_t per_page) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_page(page, per_page));
  return select_page(
      ctx_, org_id, "SELECT COUNT(*) FROM download_requests WHERE org_id = $1",
      kColumns.select("FROM download_requests WHERE org_id = $1"
                      " ORDER BY updated_at DESC, updated_position DESC LIMIT $2 OFFSET $3"),
      {std::string(org_id)}, page, per_page, kColumns.reader<DownloadRequest>());
}

Result<std::vector<DownloadRequest>> SqlModelRepository::find_download_requests(
    std::string_view org_id, std::string_view repo, std::string_view filename) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_file(repo, filename));
  return select_all(
      ctx_, org_id,
      kColumns.select("FROM download_requests WHERE org_id = $1 AND repo = $2 AND filename = $3"
                      " ORDER BY created_at DESC, created_position DESC"),
      {std::string(org_id), std::string(repo), std::string(filename)},
      kColumns.reader<DownloadRequest>());
}

Result<StoredDownload> SqlModelRepository::find_download(std::string_view org_id,
                                                         std::string_view id) {
  return select_by_id(ctx_, org_id, id, kColumns,
                      "FROM download_requests WHERE org_id = $1 AND id = $2", "download request");
}

}  // namespace annals::repositories::model_internal
