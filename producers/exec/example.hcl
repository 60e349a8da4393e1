# Any script is a producer: it prints "name value" lines.
producer "exec" {
  command         = ["/bin/sh", "-c", "echo mailq.length $(mailq | grep -c '^[0-9A-F]'); echo mailq.delivered $(cat /var/lib/mail-delivered)"]
  command_timeout = "5s"
  counters        = ["mailq.delivered"]
}
