@0xd40ced48e3a86c45;
# Events of the AccessRepository, AccessRequestRepository, AppInstanceRepository, UserAliasRepository.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.
#
# Optional text fields are "absent" when not set (has...() is false); the
# repositories never write an empty string where absence is meant.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct AccessEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    userAccessRequested @1 :UserAccessRequested;
    userAccessReviewed @2 :UserAccessReviewed;
    appAccessRequestCreated @3 :AppAccessRequestCreated;
    appAccessRequestApproved @4 :AppAccessRequestApproved;
    appAccessRequestDenied @5 :AppAccessRequestDenied;
    appAccessRequestFailed @6 :AppAccessRequestFailed;
    appInstanceUpserted @7 :AppInstanceUpserted;
    appInstanceStatusChanged @8 :AppInstanceStatusChanged;
    appInstanceDeleted @9 :AppInstanceDeleted;
    userAliasCreated @10 :UserAlias;
    userAliasUpdated @11 :UserAlias;   # the whole row after the update
    userAliasDeleted @12 :UserAliasDeleted;
  }
}

# --- user_access_requests -----------------------------------------------------

enum UserAccessStatus {
  pending @0;
  approved @1;
  rejected @2;
}

# A user asks to join the org. The request's integer id is the position of
# this event in the journal (deterministic on replay). The event's stream
# ("user-access-request/<key>") is the request's own.
struct UserAccessRequested {
  username @0 :Text;
  userId @1 :Text;
  key @2 :Text;  # the random key naming the request's stream
}

# A reviewer set the request's status.
struct UserAccessReviewed {
  id @0 :Int64;  # the request's id (position of its UserAccessRequested)
  status @1 :UserAccessStatus;
  reviewer @2 :Text;
}

# --- app_access_requests ------------------------------------------------------

enum AppAccessFlowType {
  redirect @0;
  popup @1;
}

# A third-party app asks for access; the request starts as a draft.
struct AppAccessRequestCreated {
  id @0 :Text;
  appClientId @1 :Text;
  appName @2 :Text;
  appDescription @3 :Text;
  flowType @4 :AppAccessFlowType;
  redirectUri @5 :Text;
  requested @6 :Text;          # JSON, as given
  expiresAtMicros @7 :Int64;
}

struct AppAccessRequestApproved {
  id @0 :Text;
  userId @1 :Text;
  approved @2 :Text;             # JSON, as given
  resourceScope @3 :Text;
  accessRequestScope @4 :Text;   # absent when none
}

struct AppAccessRequestDenied {
  id @0 :Text;
  userId @1 :Text;
}

struct AppAccessRequestFailed {
  id @0 :Text;
  errorMessage @1 :Text;
}

# --- app_instances (at most one per org, stream "app-instance") ---------------

# Creates or replaces the org's instance; created_at of an existing one survives.
struct AppInstanceUpserted {
  clientId @0 :Text;
  sealedClientSecret @1 :Text;  # Secrets::seal(org, "app_instances.client_secret/<clientId>", ...)
  scope @2 :Text;
  status @3 :Text;
}

struct AppInstanceStatusChanged {
  status @0 :Text;
}

struct AppInstanceDeleted {
}

# --- user_aliases -------------------------------------------------------------

struct UserAlias {
  id @0 :Text;
  alias @1 :Text;
  repo @2 :Text;
  filename @3 :Text;
  snapshot @4 :Text;
  requestParams @5 :Text;   # JSON, as given
  contextParams @6 :Text;   # JSON, as given
}

struct UserAliasDeleted {
  id @0 :Text;
}
