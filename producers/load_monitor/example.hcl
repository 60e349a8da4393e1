# Measure how late a once-a-second wake-up is, as Tahoe's LoadMonitor did.
producer "load_monitor" {
  warn_if_delay_exceeds = "2s"
}
