// The migration SQL files, as compiled into the binary.
#pragma once

#include <string_view>
#include <vector>

namespace annals::migrations {

struct EmbeddedFile {
  std::string_view name;  // "0002_settings.sql"
  std::string_view sql;
};

// migrations/sqlite/*.sql in file-name order.
const std::vector<EmbeddedFile>& sqlite_files();
// migrations/postgres/*.sql in file-name order.
const std::vector<EmbeddedFile>& postgres_files();

}  // namespace annals::migrations
