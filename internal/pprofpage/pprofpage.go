// Package pprofpage mounts Go's runtime profiles (net/http/pprof) on a
// daemon's loopback status page, when its `status { pprof = true }` asks
// for them: a heap or goroutine profile of a running gatherer or host,
// taken where it runs, is how its memory is accounted for.
package pprofpage

import (
	"net/http"
	"net/http/pprof"
)

// Mount serves the profiles under /debug/pprof/ on mux.
func Mount(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
