# CPU used by the host itself, sampled once a minute as Tahoe did.
producer "cpu_monitor" {
  interval = "60s"
}
