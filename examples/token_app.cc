// A small app over an installed Annals: it opens a store in a data folder
// (RocksDB journal and SQLite read tables, nothing to configure), issues an
// API token, finds it again by its prefix as every API call would, and
// lists the user's tokens.
//
//   token_app /tmp/example-data
#include <annals/store.h>
#include <annals/version.h>

#include <cstdio>
#include <string>

namespace {

int fail(const char* what, const annals::Status& status) {
  std::fprintf(stderr, "token_app: %s: %s\n", what, status.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: token_app DATA_DIR\n");
    return 2;
  }
  annals::repositories::StoreOptions options;
  options.data_dir = argv[1];
  auto store = annals::repositories::Store::open(options);
  if (!store.is_ok()) return fail("open", store.status());
  auto& tokens = (*store)->tokens();

  annals::repositories::NewApiToken token;
  token.id = "7f1c2a9e-example";
  token.user_id = "user-1";
  token.name = "laptop";
  token.token_prefix = "bodhiapp_example";
  token.token_hash = "sha256:0f1e2d3c";
  token.scopes = "scope_token_user";
  auto created = tokens.create("org-example", token);
  if (!created.is_ok()) return fail("create", created.status());

  auto found = tokens.get_by_prefix("bodhiapp_example");
  if (!found.is_ok()) return fail("get_by_prefix", found.status());
  if (found->id != token.id || found->org_id != "org-example") {
    std::fprintf(stderr, "token_app: the prefix found token %s of %s\n", found->id.c_str(),
                 found->org_id.c_str());
    return 1;
  }

  auto page = tokens.list("org-example", "user-1", 1, 10);
  if (!page.is_ok()) return fail("list", page.status());
  std::printf("annals %s: %lld token(s) for user-1, found %s by its prefix\n", annals::version(),
              static_cast<long long>(page->total), found->name.c_str());

  // Bad input is a clear error, not a crash.
  auto refused = tokens.get_by_prefix("");
  if (refused.is_ok()) return fail("an empty prefix was accepted", annals::Status::ok());
  return 0;
}
