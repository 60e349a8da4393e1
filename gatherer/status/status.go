// Package status is the gatherer's status pages: the overview with the
// fleet view, the fleet's health over time, and a page per node, each with
// its JSON twin; and what they keep between rounds (each node's track, the
// fleet's history, the nodes whose page is open).
package status

import (
	"time"

	"github.com/statsherd/statsherd/gatherer/fanout"
)

// Status is what the status page shows.
type Status struct {
	Nickname     string      `json:"nickname"`
	ID           string      `json:"id"`
	Furl         string      `json:"furl"`
	Listen       string      `json:"listen"`
	PollInterval float64     `json:"poll_interval_seconds"`
	Uptime       float64     `json:"uptime_seconds"`
	Rounds       int64       `json:"rounds"`
	PollFailures int64       `json:"poll_failures"`
	Refused      int64       `json:"refused_peers"`
	LastRound    RoundStatus `json:"last_round"`
	// RefusedByKind counts refusals (and dropped stats) by kind.
	RefusedByKind map[string]int64 `json:"refused_by_kind"`
	// Enrolment is the policy; NodesEnrolled etc. count the known nodes.
	Enrolment     string `json:"enrolment"`
	NodesEnrolled int    `json:"nodes_enrolled"`
	NodesPending  int    `json:"nodes_pending"`
	NodesRevoked  int    `json:"nodes_revoked"`
	// Handshakes counts connections not yet authenticated.
	Handshakes int `json:"handshakes_in_progress"`
	// HostsConnected counts Hosts, also when the list is left out.
	HostsConnected int             `json:"hosts_connected"`
	Hosts          []HostStatus    `json:"hosts"`
	Outputs        []fanout.Status `json:"outputs"`
	// Fleet is the fleet view's page (page.go): every known node,
	// sorted, filtered and paged as the URL asks, and the counts of each
	// state.
	Fleet *FleetPage `json:"fleet,omitempty"`
}

// HostStatus is a connected host as the status page shows it.
type HostStatus struct {
	ID         string            `json:"id"`
	Nickname   string            `json:"nickname"`
	Address    string            `json:"address"`
	Versions   map[string]string `json:"versions,omitempty"`
	Since      time.Time         `json:"connected_since"`
	LastAnswer time.Time         `json:"last_answer,omitzero"`
	LastError  string            `json:"last_error,omitempty"`
	Polls      int64             `json:"polls"`
}

// RoundStatus describes the last round.
type RoundStatus struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time,omitzero"`
	PollSeconds  float64   `json:"poll_seconds"`
	Answers      int       `json:"answers"`
	Failures     int       `json:"failures"`
	WrittenSeq   uint64    `json:"written_seq"`
	TotalSeconds float64   `json:"total_seconds"` // start to every output written, of round WrittenSeq
}
