@0xb54ed94089fcb294;
# Events of the McpRepository: MCP servers and instances.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.
#
# Optional values are named unions whose first member, `none`, is the default.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct McpEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    serverCreated @1 :McpServerFields;
    serverUpdated @2 :McpServerFields;             # the whole row after the update
    instanceCreated @3 :McpInstanceFields;
    instanceUpdated @4 :McpInstanceFields;         # the whole row after the update
    instanceDeleted @5 :McpInstanceDeleted;
    instanceToolsCleared @6 :McpInstanceToolsCleared;
  }
}

# --- mcp_servers (stream "mcp-server/<id>") -----------------------------------

struct McpServerFields {
  id @0 :Text;
  url @1 :Text;            # trimmed, as given otherwise; unique after ASCII lower-casing
  name @2 :Text;
  description :union {
    none @3 :Void;
    value @4 :Text;
  }
  enabled @5 :Bool;
  actor @6 :Text;          # created_by (and first updated_by) on create, updated_by on update
}

# --- mcps: a user's instances of a server (stream "mcp/<id>") -----------------

enum McpInstanceAuthType {
  public @0;
  header @1;
  oauth @2;
}

struct McpInstanceFields {
  id @0 :Text;
  createdBy @1 :Text;      # the user owning the instance; never changes
  mcpServerId @2 :Text;    # never changes
  name @3 :Text;
  slug @4 :Text;           # as given; unique per user after ASCII lower-casing
  description :union {
    none @5 :Void;
    value @6 :Text;
  }
  enabled @7 :Bool;
  toolsCache :union {
    none @8 :Void;
    json @9 :Text;         # JSON, as given
  }
  toolsFilter :union {
    none @10 :Void;
    json @11 :Text;        # JSON, as given
  }
  authType @12 :McpInstanceAuthType;
  authUuid :union {
    none @13 :Void;
    value @14 :Text;
  }
}

struct McpInstanceDeleted {
  id @0 :Text;
  createdBy @1 :Text;
  slug @2 :Text;
}

# tools_cache and tools_filter of one instance set to null. Clearing a
# server's instances appends one of these per instance, in one command.
struct McpInstanceToolsCleared {
  id @0 :Text;
  mcpServerId @1 :Text;
}
