@0xe53186f52a0e44aa;
# Events of the McpRepository's credentials: auth headers, OAuth configs and
# OAuth tokens. Same evolution rules as events.capnp: add with the next free
# ordinal, never renumber, retype or reuse.
#
# Streams: "mcp_auth_header/<id>", "mcp_oauth_config/<id>" and
# "mcp_oauth_token/<id>". A config's stream holds only its creation and its
# deletion, so every token command expects the config's stream at the version
# it read: no token event is ever accepted after its config was deleted.
#
# Secrets are never here in plain text: every "sealed..." field (and every
# SecretChange.set) holds repositories::Secrets::seal output, bound to the
# purpose "<table>.<column>/<row id>".
#
# Nullable text fields are absent (has...() false) when null.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

using Common = import "common.capnp";

struct McpAuthEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    authHeaderCreated @1 :McpAuthHeaderCreated;
    authHeaderUpdated @2 :McpAuthHeaderUpdated;
    authHeaderDeleted @3 :McpAuthHeaderDeleted;
    oauthConfigCreated @4 :McpOAuthConfigCreated;
    oauthConfigDeleted @5 :McpOAuthConfigDeleted;
    oauthTokenCreated @6 :McpOAuthTokenCreated;
    oauthTokenUpdated @7 :McpOAuthTokenUpdated;
    oauthTokenDeleted @8 :McpOAuthTokenDeleted;
  }
}

# A time that may be null.
struct McpOptionalTime {
  union {
    none @0 :Void;
    micros @1 :Int64;  # UTC microseconds since the epoch
  }
}

# --- Auth headers ---------------------------------------------------------------

struct McpAuthHeaderCreated {
  id @0 :Text;
  name @1 :Text;
  mcpServerId @2 :Text;
  headerKey @3 :Text;
  sealedHeaderValue @4 :Text;  # purpose "mcp_auth_headers.value/<id>"
  createdBy @5 :Text;
}

# Name and header key after the update (always given); the value is kept or
# replaced (never cleared: a header always has a value).
struct McpAuthHeaderUpdated {
  id @0 :Text;
  name @1 :Text;
  headerKey @2 :Text;
  headerValue @3 :Common.SecretChange;
}

struct McpAuthHeaderDeleted {
  id @0 :Text;
}

# --- OAuth configs --------------------------------------------------------------

struct McpOAuthConfigCreated {
  id @0 :Text;
  name @1 :Text;
  mcpServerId @2 :Text;
  registrationType @3 :Text;
  clientId @4 :Text;
  sealedClientSecret @5 :Text;             # nullable; "mcp_oauth_configs.client_secret/<id>"
  authorizationEndpoint @6 :Text;
  tokenEndpoint @7 :Text;
  registrationEndpoint @8 :Text;           # nullable
  sealedRegistrationAccessToken @9 :Text;  # nullable;
                                           # "mcp_oauth_configs.registration_access_token/<id>"
  clientIdIssuedAt @10 :McpOptionalTime;
  tokenEndpointAuthMethod @11 :Text;       # nullable
  scopes @12 :Text;                        # nullable
  createdBy @13 :Text;
}

# Deletes the config and every token of it, in one event (so the two can
# never be seen half done). withTokens records which call asked: a plain
# delete is refused while the config has tokens, so it only removes tokens
# created concurrently with it.
struct McpOAuthConfigDeleted {
  id @0 :Text;
  withTokens @1 :Bool;
}

# --- OAuth tokens ---------------------------------------------------------------

struct McpOAuthTokenCreated {
  id @0 :Text;
  mcpOauthConfigId @1 :Text;
  sealedAccessToken @2 :Text;   # "mcp_oauth_tokens.access_token/<id>"
  sealedRefreshToken @3 :Text;  # nullable; "mcp_oauth_tokens.refresh_token/<id>"
  scopesGranted @4 :Text;       # nullable
  expiresAt @5 :McpOptionalTime;
  createdBy @6 :Text;
}

# Scopes and expiry after the update (always given); the access token is kept
# or replaced, the refresh token kept, replaced or cleared.
struct McpOAuthTokenUpdated {
  id @0 :Text;
  accessToken @1 :Common.SecretChange;
  refreshToken @2 :Common.SecretChange;
  scopesGranted @3 :Text;  # nullable
  expiresAt @4 :McpOptionalTime;
}

struct McpOAuthTokenDeleted {
  id @0 :Text;
  mcpOauthConfigId @1 :Text;
}
