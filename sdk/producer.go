package sdk

import "context"

// Producer reports counters and stats when its host polls it.
//
// Lifecycle: Describe may be called at any time, any number of times, even
// before Configure. Configure is called once, before the first Collect, with
// the plugin's HCL block decoded against Info.Config. Collect is called once
// per poll, never concurrently with itself, each call under a deadline
// carried by ctx. Close is called last; nothing is called after it. A plugin
// process may also simply be killed (a hung Collect), so a producer keeps no
// state that must be flushed.
type Producer interface {
	// Describe returns the producer's name, version, the stats it emits
	// and its config schema. It has no side effects.
	Describe(ctx context.Context) (Info, error)
	// Configure applies the decoded HCL block. An error stops the plugin
	// from starting and is shown to the operator.
	Configure(ctx context.Context, cfg Config) error
	// Collect returns the current counters and stats. It may return
	// partial stats together with an error: the host keeps the stats and
	// reports the error in its own stats and log.
	Collect(ctx context.Context) (Stats, error)
	// Close releases what Configure acquired.
	Close(ctx context.Context) error
}
