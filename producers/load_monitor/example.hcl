# Measure how late a wake-up is, as Tahoe's LoadMonitor did: every second
# for a minute after a late one, every 10 s (idle_interval) while none is.
producer "load_monitor" {
  warn_if_delay_exceeds = "2s"
}
