# gatherer: the third-party output into a missing directory (its Configure refuses it)
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "jsonl" {
  plugin = "{{jsonl}}"
  path   = "{{dir}}/missing/rounds.jsonl"
}
