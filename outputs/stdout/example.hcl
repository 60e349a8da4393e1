# Print every round, as Tahoe's StdOutStatsGatherer did.
output "stdout" {}

# Or append it to a file:
# output "stdout" { path = "/var/log/statsherd/rounds.txt" }
