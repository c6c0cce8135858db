// ModelRepository: download requests.
#include "repositories/enum_names.h"
#include "repositories/model_repository_internal.h"

namespace annals::repositories::model_internal {
namespace {

constexpr const char* kIdRule = "download_request.id";
constexpr const char* kColumns =
    "id, repo, filename, status, error, total_bytes, downloaded_bytes, started_at, created_at,"
    " updated_at, version";

std::string stream_of(std::string_view id) { return "download_request/" + std::string(id); }

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

schema::DownloadStatus to_schema(DownloadStatus status) {
  switch (status) {
    case DownloadStatus::kPending:
      return schema::DownloadStatus::PENDING;
    case DownloadStatus::kCompleted:
      return schema::DownloadStatus::COMPLETED;
    case DownloadStatus::kError:
      return schema::DownloadStatus::ERROR;
  }
  return schema::DownloadStatus::PENDING;
}

DownloadStatus status_from_text(const std::string& s) {
  return parse(kDownloadStatusNames, s, DownloadStatus::kPending);
}

void fill(schema::DownloadRequest::Builder p, const DownloadRequestInput& r) {
  p.setId(r.id);
  p.setRepo(r.repo);
  p.setFilename(r.filename);
  p.setStatus(to_schema(r.status));
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

DownloadRequest from_row(const db::Row& row) {
  DownloadRequest r;
  r.id = row.text(0);
  r.repo = row.text(1);
  r.filename = row.text(2);
  r.status = status_from_text(row.text(3));
  r.error = optional_text(row, 4);
  r.total_bytes = optional_i64(row, 5);
  r.downloaded_bytes = row.i64(6);
  if (!row.is_null(7)) r.started_at = from_micros(row.i64(7));
  r.created_at = from_micros(row.i64(8));
  r.updated_at = from_micros(row.i64(9));
  return r;
}

}  // namespace

Result<DownloadRequest> SqlModelRepository::create_download_request(
    std::string_view org_id, const DownloadRequestInput& request) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_input(request));

  Command cmd(ctx_, org_id, stream_of(request.id), "system");
  cmd.expect_new();
  fill(cmd.add_event().initModel().initDownloadRequestCreated(), request);
  ANNALS_RETURN_IF_ERROR(
      cmd.append_or_taken(
             Status::conflict(kIdRule, "download request id '" + request.id + "' is already taken"))
          .status());
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_download(org_id, request.id));
  return stored.request;
}

Result<DownloadRequest> SqlModelRepository::get_download_request(std::string_view org_id,
                                                                 std::string_view id) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_id(id));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_download(org_id, id));
  return stored.request;
}

Result<DownloadRequest> SqlModelRepository::update_download_request(
    std::string_view org_id, const DownloadRequestInput& request) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_input(request));
  ANNALS_ASSIGN_OR_RETURN(auto stored, find_download(org_id, request.id));

  Command cmd(ctx_, org_id, stream_of(request.id), "system");
  cmd.expect_version(stored.version);
  fill(cmd.add_event().initModel().initDownloadRequestUpdated(), request);
  ANNALS_RETURN_IF_ERROR(cmd.append().status());
  ANNALS_ASSIGN_OR_RETURN(auto updated, find_download(org_id, request.id));
  return updated.request;
}

Result<Page<DownloadRequest>> SqlModelRepository::list_download_requests(std::string_view org_id,
                                                                         int64_t page,
                                                                         int64_t per_page) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_page(page, per_page));
  return select_page(ctx_, org_id, "SELECT COUNT(*) FROM download_requests WHERE org_id = $1",
                     std::string("SELECT ") + kColumns +
                         " FROM download_requests WHERE org_id = $1"
                         " ORDER BY updated_at DESC, updated_position DESC LIMIT $2 OFFSET $3",
                     {std::string(org_id)}, page, per_page, from_row);
}

Result<std::vector<DownloadRequest>> SqlModelRepository::find_download_requests(
    std::string_view org_id, std::string_view repo, std::string_view filename) {
  ANNALS_RETURN_IF_ERROR(validate_org_id(org_id));
  ANNALS_RETURN_IF_ERROR(validate_file(repo, filename));
  return select_all(ctx_, org_id,
                    std::string("SELECT ") + kColumns +
                        " FROM download_requests WHERE org_id = $1 AND repo = $2 AND filename = $3"
                        " ORDER BY created_at DESC, created_position DESC",
                    {std::string(org_id), std::string(repo), std::string(filename)}, from_row);
}

Result<SqlModelRepository::StoredDownload> SqlModelRepository::find_download(
    std::string_view org_id, std::string_view id) {
  return select_one(
      ctx_, org_id,
      std::string("SELECT ") + kColumns + " FROM download_requests WHERE org_id = $1 AND id = $2",
      {std::string(org_id), std::string(id)},
      "download request '" + std::string(id) + "' not found", [](const db::Row& row) {
        return StoredDownload{from_row(row), static_cast<uint64_t>(row.i64(10))};
      });
}

}  // namespace annals::repositories::model_internal
