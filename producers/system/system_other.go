//go:build !linux

package system

import (
	"context"
	"errors"

	"github.com/statsherd/statsherd/sdk"
)

type source struct{}

func newSource(string, string) (source, error) {
	return source{}, errors.New("the system producer reads /proc and runs on Linux only")
}

func statfs(string) (fsStats, error) { return fsStats{}, errors.ErrUnsupported }

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	return sdk.NewStats(), errors.New("the system producer runs on Linux only")
}
