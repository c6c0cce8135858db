@0xefa84d741ca91db7;
# Events of the ToolsetRepository: toolsets and app toolset configs.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct ToolsetEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    appToolsetConfigSet @1 :AppToolsetConfigSet;
  }
}

struct AppToolsetConfigSet {
  toolsetType @0 :Text;
  enabled @1 :Bool;
  updatedBy @2 :Text;
}
