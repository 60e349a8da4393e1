# gatherer: a poll interval that is not a duration
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
poll_interval = "soon"
