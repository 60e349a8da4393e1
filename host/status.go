package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/statsherd/statsherd/internal/statuspage"
	"github.com/statsherd/statsherd/sdk"
)

// startStatus serves the status page on the loopback address addr and
// returns its base URL. The caller holds h.mu.
func (h *Host) startStatus(ctx context.Context, addr string, pprof bool) (string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("status page: %w%s", err, inUseHint(err, "status { listen }"))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /statistics", h.serveStatistics)
	mux.HandleFunc("GET /host", h.serveHostPage)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" {
			h.serveHostPage(w, r)
			return
		}
		// The query goes along: status.url?t=json is the stats' JSON,
		// as before the host's page (whose twin is /host?t=json).
		http.Redirect(w, r, "/statistics?"+r.URL.RawQuery, http.StatusFound)
	})
	srv := &http.Server{
		Handler:           statuspage.Handler(mux, pprof),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return h.base },
		ErrorLog:          h.log.Named("status").StandardLogger(nil),
	}
	h.http = srv
	h.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("status page stopped", "error", err)
		}
	})
	return "http://" + ln.Addr().String() + "/", nil
}

// serveStatistics answers /statistics: text for people, or with ?t=json
// exactly the JSON a gatherer receives.
func (h *Host) serveStatistics(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	st := h.Peek(r.Context())
	if r.URL.Query().Get("t") == "json" {
		b, err := MarshalStats(st)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	h.writeText(w, st, time.Since(start))
}

// MarshalStats is the JSON of a poll answer as the gatherer receives it and
// `statsherd host --once` prints it: {"counters": {...}, "stats": {...}},
// keys sorted, followed by a newline.
func MarshalStats(st sdk.Stats) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, fmt.Errorf("encoding stats: %w", err)
	}
	return buf.Bytes(), nil
}

func (h *Host) writeText(w http.ResponseWriter, st sdk.Stats, took time.Duration) {
	cfg := h.Config()
	var b strings.Builder
	fmt.Fprintf(&b, "statsherd host %s", cfg.Nickname)
	if id := h.opts.Identity; id != nil {
		fmt.Fprintf(&b, " (node id %s)", id.ID)
	}
	fmt.Fprintf(&b, "\ngatherer: %s\n", h.gathererStatus())
	if s := h.statsdStatus(); s != "" {
		fmt.Fprintf(&b, "statsd: %s\n", s)
	}
	fmt.Fprintf(&b, "collected at %s in %v\n", time.Now().UTC().Format(time.RFC3339), took.Round(time.Microsecond))
	fmt.Fprintf(&b, "JSON, as the gatherer receives it: /statistics?t=json\n\n")

	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	states := h.allStates()
	fmt.Fprintf(tw, "Producers (%d)\tstate\tcalls\tfailures\trestarts\tlast error\n", len(states))
	for _, s := range states {
		up := "up"
		if !s.Up {
			up = "DOWN"
		}
		name := s.Name
		if s.Kind == registeredKind {
			name += " (registered)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%s\n", name, up, s.Calls, s.Failures, s.Restarts, oneLine(s.LastError))
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Counters (%d)\t\n", len(st.Counters))
	for _, k := range sortedKeys(st.Counters) {
		fmt.Fprintf(tw, "  %s\t%d\n", k, st.Counters[k])
	}
	fmt.Fprintf(tw, "\t\nStats (%d)\t\n", len(st.Stats))
	for _, k := range sortedKeys(st.Stats) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, st.Stats[k])
	}
	tw.Flush()
	w.Write([]byte(b.String()))
}

// statsdStatus is the statsd line of the status page, "" without statsd.
func (h *Host) statsdStatus() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.statsd != nil:
		return "listening on " + h.statsd.Addr()
	case h.statsdDown != "":
		return fmt.Sprintf("DOWN (%s; retrying every %v)", h.statsdDown, h.statsdRetry())
	}
	return ""
}

// oneLine shortens an error for a table cell.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
