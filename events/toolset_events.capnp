@0xefa84d741ca91db7;
# Events of the ToolsetRepository: toolsets and app toolset configs.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.
#
# Optional values are named unions whose first member, `none`, is the default.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

using Common = import "common.capnp";

struct ToolsetEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    appToolsetConfigSet @1 :AppToolsetConfigSet;
    toolsetCreated @2 :ToolsetCreated;
    toolsetUpdated @3 :ToolsetUpdated;
    toolsetDeleted @4 :ToolsetDeleted;
  }
}

# --- app_toolset_configs (stream "app-toolset-config/<toolsetType>") ----------

# Creates or replaces the org's config of one toolset type; created_at of an
# existing config survives.
struct AppToolsetConfigSet {
  toolsetType @0 :Text;
  enabled @1 :Bool;
  updatedBy @2 :Text;
}

# --- toolsets (stream "toolset/<id>") -----------------------------------------

struct ToolsetCreated {
  id @0 :Text;
  userId @1 :Text;
  toolsetType @2 :Text;
  slug @3 :Text;           # as given; unique per user after ASCII lower-casing
  description :union {
    none @4 :Void;
    value @5 :Text;
  }
  enabled @6 :Bool;
  apiKey :union {
    none @7 :Void;
    sealed @8 :Text;       # Secrets::seal(org, "toolsets.api_key/<id>", key), never plain text
  }
}

# The row after the update; toolset_type and user_id never change.
struct ToolsetUpdated {
  id @0 :Text;
  userId @1 :Text;
  slug @2 :Text;
  description :union {
    none @3 :Void;
    value @4 :Text;
  }
  enabled @5 :Bool;
  apiKey @6 :Common.SecretChange;  # set: Secrets::seal(org, "toolsets.api_key/<id>", key)
}

struct ToolsetDeleted {
  id @0 :Text;
  userId @1 :Text;
  slug @2 :Text;
}
