package report

import "github.com/statsherd/statsherd/sdk/stat"

// The register protocol, spoken over the host's unix socket: one JSON
// object per line, each at most MaxMessage bytes.
//
//  1. The node program connects and sends a Hello.
//  2. The host answers with a Welcome. If Welcome.Error is set, the host
//     closes the connection (the name is taken or invalid, or the protocol
//     version is unknown).
//  3. At every poll the host sends a CollectRequest; the program answers
//     with a CollectResponse carrying the same ID, within TimeoutMS. A late
//     answer is ignored. Requests are answered in order, one at a time.
//  4. Either side may close the connection at any time; the host then
//     forgets the producer and its stats.

// ProtocolVersion is the version of the register protocol a Hello says.
// Version 2 adds labels (a name in Stats may be a series key, stat.Series):
// a program that speaks it still says version 1, which every host
// accepts, and MaxProtocol 2, which hosts before labels ignore; a host
// that speaks labels answers Protocol 2 in its Welcome. A program
// welcomed without it folds its series into flat names (stat.FoldStats).
const ProtocolVersion = 1

// ProtocolLabels is the version of the register protocol with labels.
const ProtocolLabels = 2

// MaxMessage bounds one message of the register protocol.
const MaxMessage = 64 << 20

// Hello is the first message of a node program.
type Hello struct {
	// Register is the producer's name: the host reports its state under
	// statsherd.producer.NAME. It is a valid stat name (stat.ValidName).
	Register string `json:"register"`
	Protocol int    `json:"protocol"`
	// MaxProtocol is the highest version the program speaks (0: 1).
	MaxProtocol int `json:"max_protocol,omitempty"`
	// Version is the program's version, for the host's log.
	Version string `json:"version,omitempty"`
}

// Welcome is the host's answer to a Hello.
type Welcome struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// Protocol is the version the host chose: ProtocolLabels when both
	// sides speak labels; 0 (a host before them) or 1 otherwise.
	Protocol int `json:"protocol,omitempty"`
}

// CollectRequest asks the program for its stats.
type CollectRequest struct {
	ID uint64 `json:"id"`
	// TimeoutMS is how long the host waits for the answer.
	TimeoutMS int64 `json:"timeout_ms"`
}

// CollectResponse carries the program's stats. Error, if set, is reported
// by the host in its log and its own stats; Stats are kept even then.
type CollectResponse struct {
	ID    uint64     `json:"id"`
	Stats stat.Stats `json:"stats"`
	Error string     `json:"error,omitempty"`
}
