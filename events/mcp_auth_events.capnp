@0xe53186f52a0e44aa;
# Events of the McpRepository's credentials: auth headers, OAuth configs and
# OAuth tokens. Same evolution rules as events.capnp: add with the next free
# ordinal, never renumber, retype or reuse.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct McpAuthEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    authHeaderCreated @1 :McpAuthHeader;
  }
}

struct McpAuthHeader {
  id @0 :Text;
  name @1 :Text;
  mcpServerId @2 :Text;
  headerKey @3 :Text;
  sealedHeaderValue @4 :Text;  # repositories::Secrets::seal output, never plain text
  createdBy @5 :Text;
}
