# gatherer: a third-party output (examples/example-output)
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "jsonl" {
  plugin = "{{jsonl}}"
  path   = "{{dir}}/rounds.jsonl"
}
