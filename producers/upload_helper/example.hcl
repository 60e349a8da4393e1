# The directories of a Tahoe upload helper (BASEDIR/helper/CHK_*).
producer "upload_helper" {
  incoming_dir = "/var/lib/tahoe/helper/CHK_incoming"
  encoding_dir = "/var/lib/tahoe/helper/CHK_encoding"
  old_after    = "48h"
}
