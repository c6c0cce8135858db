@0x8d5b73609e447619;
# Events of the ModelRepository: download requests, API model aliases, model metadata.
# Same evolution rules as events.capnp: add with the next free ordinal, never
# renumber, retype or reuse.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

struct ModelEvent {
  union {
    unset @0 :Void;  # never written; projections reject it
    downloadRequestCreated @1 :DownloadRequest;
    downloadRequestUpdated @2 :DownloadRequest;  # the whole row after the update
  }
}

struct DownloadRequest {
  id @0 :Text;
  repo @1 :Text;
  filename @2 :Text;
  status @3 :Text;                # pending | completed | error
  error @4 :Text;                 # absent (not set) when there is none
  totalBytes @5 :Int64;
  hasTotalBytes @6 :Bool;
  downloadedBytes @7 :Int64;
  startedAtMicros @8 :Int64;
  hasStartedAt @9 :Bool;
}
