// Package statuspage serves a daemon's loopback status page: it answers
// only requests addressed to a loopback name, and mounts Go's runtime
// profiles (net/http/pprof) when `status { pprof = true }` asks for them.
package statuspage

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strings"
)

// Handler serves h, with the profiles under /debug/pprof/ if pprof is
// set, to requests whose Host is a loopback address or localhost. The
// page listens on loopback only, but a web page in a browser on the same
// machine can still reach it under a name of its own that resolves to
// 127.0.0.1 (DNS rebinding); the Host header is what tells those apart.
func Handler(h http.Handler, pprofOn bool) http.Handler {
	if pprofOn {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		h = mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !LoopbackHost(r.Host) {
			http.Error(w, fmt.Sprintf("this status page answers only to a loopback address or localhost, not Host %q: open http://127.0.0.1:PORT/", r.Host), http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// LoopbackHost reports whether host (a Host header: a name or address,
// with or without a port) names this machine's loopback interface.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.EqualFold(host, "localhost.") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
