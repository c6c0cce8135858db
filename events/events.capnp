@0xab5f45430764b500;
# Annals events. Every event is one Envelope message, stored in the journal as
# Cap'n Proto's flat-array encoding.
#
# Evolution rules: fields and payloads are only ever added, with the next free
# ordinal; a field is never renumbered, retyped or reused. A change of meaning
# is a new payload (or version) with an upcaster, never an edit.
#
# Versions: every kind of event (a payload, or a member of a payload group
# such as model.apiModelAliasCreated) has a version, 1 until its meaning
# first changes. The envelope's eventVersion says which version of its kind
# an event was written as; 0 means it was written before versions existed,
# which is version 1 of every kind. events/versions.cc holds the current
# version of each kind (the writer stamps it) and the upcasters that turn
# version N into N+1 when an event is decoded, so readers only ever see the
# current shape. A field a new version stops using stays in the schema,
# marked deprecated, so old bytes still decode.
#
# Secrets (API keys, client secrets, header values, OAuth tokens) are never
# in an event in plain text: fields named "sealed..." hold the output of
# repositories::Secrets::seal (AES-256-GCM under the org's data key).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

# Each repository's events live in a file of their own, as a struct with a
# union: the envelope's payload names the group, the group names the event.
using ModelEvents = import "model_events.capnp";
using AccessEvents = import "access_events.capnp";
using ToolsetEvents = import "toolset_events.capnp";
using McpEvents = import "mcp_events.capnp";
using McpAuthEvents = import "mcp_auth_events.capnp";

struct Envelope {
  position @0 :UInt64;          # global journal position, gap-free, from 1
  orgId @1 :Text;               # owning organisation
  streamId @2 :Text;            # aggregate the event belongs to, e.g. "token/<id>"
  streamVersion @3 :UInt64;     # 1 for the first event of the stream
  actor @4 :Text;               # who issued the command ("system" when nobody)
  recordedAtMicros @5 :Int64;   # UTC microseconds since the epoch, set by the journal
  idempotencyKey @6 :Text;      # the command's idempotency key, empty when none

  payload :union {
    unset @7 :Void;             # never written; decoding rejects it
    settingUpserted @8 :SettingUpserted;
    settingDeleted @9 :SettingDeleted;
    tokenCreated @10 :TokenCreated;
    tokenUpdated @11 :TokenUpdated;
    model @12 :ModelEvents.ModelEvent;          # download requests, API aliases, metadata
    access @13 :AccessEvents.AccessEvent;       # user access, app access requests,
                                                # app instance, user aliases
    toolset @14 :ToolsetEvents.ToolsetEvent;    # toolsets, app toolset configs
    mcp @15 :McpEvents.McpEvent;                # MCP servers and instances
    mcpAuth @16 :McpAuthEvents.McpAuthEvent;    # MCP auth headers, OAuth configs and tokens
  }

  # Where the event sits in the command that appended it (0-based index, and
  # the command's event count): projectors never split a command across
  # two transactions.
  commandIndex @17 :UInt32;
  commandEvents @18 :UInt32;

  # The version of its kind the payload was written as; 0 (every event
  # written before versions existed) is version 1. Decoding upcasts older
  # versions and refuses newer ones.
  eventVersion @19 :UInt16;
}

# --- Settings ---------------------------------------------------------------

# How a setting's value is to be read.
enum SettingKind {
  custom @0;    # a type the engine does not name; customType holds the app's name for it
  string @1;
  number @2;
  boolean @3;
  option @4;    # one of a fixed set of choices
}

# Version 1: the value type was valueType, the app's free-form name for it.
# Version 2: the value type is kind, one of the types every consumer knows,
# or custom with the app's name in customType (exact names only: "String" is
# custom). valueType is deprecated: version 2 never writes it and readers
# never read it. The upcaster maps valueType to kind and customType and
# leaves valueType as it was.
struct SettingUpserted {
  key @0 :Text;
  value @1 :Text;
  valueType @2 :Text;           # deprecated (version 1 only)
  kind @3 :SettingKind;         # version 2
  customType @4 :Text;          # version 2: the type's name when kind is custom, else empty
}

struct SettingDeleted {
  key @0 :Text;
}

# --- API tokens ---------------------------------------------------------------

enum TokenStatus {
  active @0;
  inactive @1;
}

struct TokenCreated {
  id @0 :Text;
  userId @1 :Text;
  name @2 :Text;
  tokenPrefix @3 :Text;
  tokenHash @4 :Text;
  scopes @5 :Text;
  status @6 :TokenStatus;
}

# Name and status after the update (both are always given).
struct TokenUpdated {
  id @0 :Text;
  userId @1 :Text;
  name @2 :Text;
  status @3 :TokenStatus;
}
