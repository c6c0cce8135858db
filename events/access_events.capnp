@0xd40ced48e3a86c45;
# Events of the AccessRepository, AccessRequestRepository, AppInstanceRepository, UserAliasRepository.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct AccessEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    userAccessRequested @1 :UserAccessRequested;
  }
}

# A user asks to join the org. The request's integer id is the position of
# this event in the journal (deterministic on replay).
struct UserAccessRequested {
  username @0 :Text;
  userId @1 :Text;
}
