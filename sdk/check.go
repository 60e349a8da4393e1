package sdk

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Checker is an optional capability of a Producer or an Output, found by
// type assertion. Check tells whether cfg would configure the plugin,
// returning the error Configure would return, without acquiring anything:
// nothing listens, nothing is written, no goroutine is left running.
// `statsherd validate` calls it (a dry run of Configure), so that a file
// validate accepts is one the daemon accepts. Check may be called instead
// of Configure, never after it; the plugin is closed after a dry run. A
// plugin without Check has only its block checked against its schema.
type Checker interface {
	Check(ctx context.Context, cfg Config) error
}

// ErrNoDryRun is the error of a dry run of a plugin that has no Check.
var ErrNoDryRun = errors.New("the plugin has no dry run (sdk.Checker): only its block's schema was checked")

// mdDryRun is the gRPC metadata key that makes a Configure call a dry run.
const mdDryRun = "statsherd-dry-run"

// withDryRun returns a context that makes a Configure call through it a
// dry run: the plugin's Check instead of its Configure (ErrNoDryRun
// without one).
func withDryRun(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, mdDryRun, "1")
}

// configure is the server side of a Configure call: impl's Configure, or
// its Check in a dry run.
func configure(ctx context.Context, impl interface {
	Configure(context.Context, Config) error
}, cfg Config) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if len(md.Get(mdDryRun)) == 0 {
		return impl.Configure(ctx, cfg)
	}
	c, ok := impl.(Checker)
	if !ok {
		return status.Error(codes.Unimplemented, ErrNoDryRun.Error())
	}
	err := c.Check(ctx, cfg)
	if errors.Is(err, ErrNoDryRun) {
		return status.Error(codes.Unimplemented, ErrNoDryRun.Error())
	}
	return err
}
