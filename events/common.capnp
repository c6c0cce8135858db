@0x8a81f3ead05e3abc;
# Types shared by the event files.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("annals::schema");

# What an update does to a stored secret.
struct SecretChange {
  union {
    keep @0 :Void;    # leave it as it is
    set @1 :Text;     # replace it: repositories::Secrets::seal output, never plain text
    clear @2 :Void;   # remove it
  }
}

# A boolean that may be unknown (SQL NULL).
enum Flag {
  unknown @0;
  no @1;
  yes @2;
}
