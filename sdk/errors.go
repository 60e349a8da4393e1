package sdk

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rpcError turns a gRPC status into a plain error carrying the plugin's own
// message, and deadline or cancellation statuses into the context errors,
// so callers can test them with errors.Is.
func rpcError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case codes.Canceled:
		return context.Canceled
	case codes.Unavailable:
		return &UnavailableError{Msg: st.Message()}
	case codes.Unimplemented:
		if st.Message() == ErrNoDryRun.Error() {
			return ErrNoDryRun
		}
	}
	return errors.New(st.Message())
}

// UnavailableError means the plugin process could not be reached: it has
// exited or crashed.
type UnavailableError struct{ Msg string }

func (e *UnavailableError) Error() string { return "plugin unavailable: " + e.Msg }
