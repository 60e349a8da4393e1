package producertest

import (
	"context"
	"testing"

	"github.com/statsherd/statsherd/sdk"
)

// ConfigureCase is one config a producer's Configure should accept (OK) or
// refuse.
type ConfigureCase struct {
	Name, Config string
	OK           bool
}

// CheckConfigure hands each case's JSON config to a new producer's
// Configure, in parallel subtests, and checks it is accepted or refused as
// the case says.
func CheckConfigure(t *testing.T, newProducer func() sdk.Producer, cases []ConfigureCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			err := newProducer().Configure(context.Background(), sdk.Config(tc.Config))
			if (err == nil) != tc.OK {
				t.Errorf("Configure(%s) = %v, want ok %v", tc.Config, err, tc.OK)
			}
		})
	}
}
