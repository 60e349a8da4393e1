package sdk

import (
	"time"

	"github.com/statsherd/statsherd/sdk/internal/daemonhook"
)

// Package sdk/daemon, for statsherd's own daemons, reaches the codec
// through daemonhook: what only the daemons use stays out of this
// package's API.
func init() { daemonhook.Sdk = daemonSide{} }

// daemonSide is what package sdk/daemon calls (its sdkSide interface).
type daemonSide struct{}

func (daemonSide) EncodedSample(id, nickname string, ts time.Time, stats []byte) NodeSample {
	return encodedSample(id, nickname, ts, stats)
}

func (daemonSide) Encoded(n NodeSample) bool { return n.carriesEncoding() }

func (daemonSide) Decoded(n NodeSample) (NodeSample, error) { return n.decoded() }

func (daemonSide) DecodedRound(r Round) (Round, error) { return r.decoded() }

func (daemonSide) SharedEncoding(r Round) Round { return r.withSharedEncoding() }

func (daemonSide) ErrMalformed() error { return errMalformed }

// NewStatsDecoder returns a *statsDecoder, as the daemon's interface.
func (daemonSide) NewStatsDecoder() any { return &statsDecoder{} }
