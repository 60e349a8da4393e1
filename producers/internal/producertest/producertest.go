// Package producertest holds test helpers shared by the built-in producers'
// tests: their example.hcl and README held to the code (internal/plugindoc,
// for a producer) and Configure checked case by case.
package producertest

import (
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/internal/plugindoc"
	"github.com/statsherd/statsherd/sdk"
)

// DecodeExample is plugindoc.DecodeExample for a producer.
func DecodeExample(t testing.TB, file, name string, p sdk.Producer) []sdk.Config {
	t.Helper()
	return plugindoc.DecodeExample(t, file, sdk.KindProducer, name, p)
}

// Decode is plugindoc.Decode for a producer.
func Decode(src []byte, file, name string, p sdk.Producer) ([]sdk.Config, hcl.Diagnostics) {
	return plugindoc.Decode(src, file, sdk.KindProducer, name, p)
}

// CheckREADME is plugindoc.CheckREADME.
func CheckREADME(t testing.TB, file string, p sdk.Producer) {
	t.Helper()
	plugindoc.CheckREADME(t, file, p)
}
