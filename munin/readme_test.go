package munin

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/plugindoc"
)

// TestREADME holds the README to the output's schema and stats.
func TestREADME(t *testing.T) {
	plugindoc.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
