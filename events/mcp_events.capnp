@0xb54ed94089fcb294;
# Events of the McpRepository: MCP servers and instances.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct McpEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    serverCreated @1 :McpServer;
  }
}

struct McpServer {
  id @0 :Text;
  url @1 :Text;          # trimmed, as given otherwise
  name @2 :Text;
  description @3 :Text;  # absent when none
  enabled @4 :Bool;
  actor @5 :Text;        # created_by on create, updated_by on update
}
