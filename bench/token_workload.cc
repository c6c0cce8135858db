#include "bench/token_workload.h"
#include "journal/journal.h"
#include "repositories/token_repository.h"

#include <algorithm>
#include <cstdio>

namespace annals::bench {

TokenRow token_row(int64_t i, int per_command) {
  constexpr int kOrgs = 8;
  char id[48];
  std::snprintf(id, sizeof id, "00000000-7f3a-4c1e-9b2d-%012llx",
                static_cast<unsigned long long>(i));
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "bodhiapp_%016llx", static_cast<unsigned long long>(i));
  TokenRow r;
  r.org_id = "org-" + std::to_string((i / per_command) % kOrgs);
  r.id = id;
  r.user_id = "user-" + std::to_string(i % 97);
  r.name = "laptop";
  r.token_prefix = prefix;
  r.token_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  r.scopes = "scope_token_user";
  r.status = "active";
  r.at = 1718000000000000 + i;
  r.position = i + 1;
  return r;
}

Status fill_journal(journal::Journal& journal, int64_t n, int per_command) {
  for (int64_t first = 0; first < n; first += per_command) {
    journal::AppendRequest request;
    TokenRow head = token_row(first, per_command);
    request.org_id = head.org_id;
    request.idempotency_key = "token.create/" + head.id;
    for (int64_t i = first; i < std::min(n, first + per_command); ++i) {
      TokenRow r = token_row(i, per_command);
      std::string stream = "token/" + r.id;
      events::NewEvent event(r.org_id, stream, r.user_id);
      repositories::fill_token_created(event.payload().initTokenCreated(),
                                       {r.id, r.user_id, r.name, r.token_prefix, r.token_hash,
                                        r.scopes, repositories::TokenStatus::kActive});
      event.stamp_version();
      request.events.push_back(std::move(event));
      request.expectations.push_back({stream, journal::ExpectedVersion::no_stream()});
      request.reservations.push_back(
          journal::Reservation::claim("token.prefix", r.token_prefix, stream, true));
    }
    auto appended = journal.append(std::move(request));
    if (!appended.is_ok()) return appended.status();
  }
  return Status::ok();
}

}  // namespace annals::bench
