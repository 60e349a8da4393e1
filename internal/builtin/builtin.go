// Package builtin lists the plugins built into the statsherd binary. They
// still run out of process: the daemon starts `statsherd plugin serve KIND
// NAME`, so one installed binary carries all of them.
package builtin

import "github.com/statsherd/statsherd/sdk"

// Plugins returns every built-in producer and output.
func Plugins() sdk.Plugins {
	return sdk.Plugins{Producers: producers(), Outputs: outputs()}
}

// Has reports whether kind/name is a built-in plugin.
func Has(kind, name string) bool {
	p := Plugins()
	switch kind {
	case sdk.KindProducer:
		_, ok := p.Producers[name]
		return ok
	case sdk.KindOutput:
		_, ok := p.Outputs[name]
		return ok
	}
	return false
}
