// Package promname is how statsherd names its numbers in the Prometheus
// data model, shared by the outputs that speak it (prometheus, the scraped
// /metrics page, and remote_write): one place, so a series has the same
// name and labels whichever way it reaches a store.
package promname

import "strings"

// Labels of every series: the node id and its nickname.
const (
	LabelNode     = "node"
	LabelNickname = "nickname"
)

// CounterSuffix ends the name of a counter ("…_total").
const CounterSuffix = "_total"

// LastSeen is the name (after the prefix) of each node's gauge of the Unix
// time of its last answer.
const LastSeen = "node_last_seen_timestamp_seconds"

// Metric turns a statsherd name into a Prometheus metric name:
// "load_monitor.avg_load" → "statsherd_load_monitor_avg_load". Every
// character outside [A-Za-z0-9_] becomes '_'.
func Metric(prefix, name string) string {
	var b strings.Builder
	b.Grow(len(prefix) + 1 + len(name))
	if prefix != "" {
		b.WriteString(prefix)
		b.WriteByte('_')
	} else if name != "" && name[0] >= '0' && name[0] <= '9' {
		b.WriteByte('_')
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Counter is the metric name of a statsherd counter: Metric + "_total".
func Counter(prefix, name string) string { return Metric(prefix, name+CounterSuffix) }

// ValidMetric reports whether s is a valid Prometheus metric name.
func ValidMetric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || (i > 0 && c >= '0' && c <= '9')) {
			return false
		}
	}
	return s != ""
}

// ValidLabel reports whether s is a valid Prometheus label name (and not
// one reserved for Prometheus's own use, starting with "__").
func ValidLabel(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || (i > 0 && c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}
