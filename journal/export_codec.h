// The event lines of an export on their own (journal/export.h has the
// format): what export_journal writes for one stored event, and what
// import_journal rebuilds from one line, with the same checks. For tests
// and fuzzing of the codec without a journal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "annals/status.h"

namespace annals::journal {

// The export line (without its newline) of the event stored as `stored`
// at `position`, as it was written (not upcast). kCorruption when the
// bytes do not decode or cannot be written as JSON.
Result<std::string> event_export_line(uint64_t position, std::string_view stored);

// The bytes the journal stores for the event an export line (without its
// newline) describes, after every check the import makes of one event line
// on its own. kInvalidArgument when the line is not a valid event line.
Result<std::string> event_from_export_line(std::string_view line);

}  // namespace annals::journal
