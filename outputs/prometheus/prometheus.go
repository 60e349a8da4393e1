// Package prometheus is the prometheus output: it serves the latest sample
// of every node on an HTTP /metrics endpoint for a Prometheus server to
// scrape. Counters become Prometheus counters (NAME_total), stats gauges;
// every series is labelled with the node's id and nickname.
//
// The exposition is rendered once per round, when the round is written,
// and kept gzip-compressed: a scrape is served from those bytes (or
// decompressed on the fly for a scraper that does not take gzip), so a
// scrape costs no rendering and the output's memory is the compressed
// page plus a compact copy of the fleet's latest values.
package prometheus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/klauspost/compress/gzip"

	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "prometheus"

type settings struct {
	Listen     string        `json:"listen"`
	Prefix     string        `json:"prefix"`
	StaleAfter time.Duration `json:"stale_after"`
	// AllowedHosts are the Host headers served (names or addresses, a
	// port ignored); others get 421. None: with a loopback listen, only
	// loopback names and addresses (a web page in a browser on the same
	// machine could read /metrics under a name of its own that resolves
	// to 127.0.0.1: DNS rebinding); otherwise any.
	AllowedHosts []string `json:"allowed_hosts"`
}

type output struct {
	log hclog.Logger
	now func() time.Time
	cfg settings

	srv *http.Server
	ln  net.Listener

	// mu is held by Write and then by the render it starts, so a round's
	// render ends before the next round changes the fleet.
	mu    sync.Mutex
	fleet *fleet
	zw    *gzip.Writer // reused from round to round

	page atomic.Pointer[page]
	// rendered is closed when the newest round's page is stored.
	rendered atomic.Pointer[chan struct{}]
}

// page is one rendered exposition, served until the next round's.
type page struct {
	gz     []byte // the exposition, gzip-compressed
	size   int    // its uncompressed length
	series int
}

// New returns the prometheus output.
func New(log hclog.Logger) sdk.Output {
	o := &output{log: log, now: time.Now}
	o.page.Store(emptyPage())
	return o
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     "1.1.0",
		Description: "serves the latest sample of every node on /metrics for Prometheus to scrape",
		Config: sdk.Schema{
			{Name: "listen", Type: sdk.String, Default: "127.0.0.1:9469", Description: "address of the /metrics HTTP server"},
			{Name: "prefix", Type: sdk.String, Default: "statsherd", Description: "prefix of every metric name"},
			{Name: "stale_after", Type: sdk.Duration, Default: 5 * time.Minute, Description: "nodes not heard from for this long are not exported"},
			{Name: "allowed_hosts", Type: sdk.ListOfString, Description: "Host headers served, others get 421 (default: loopback names only when listen is a loopback address, else any)"},
		},
	}, nil
}

// Check is Configure's dry run: the block decodes, the prefix is a metric
// name and listen an address one can listen on (nothing listens).
func (o *output) Check(_ context.Context, c sdk.Config) error {
	cfg := o.cfg
	if err := c.Decode(&cfg); err != nil {
		return err
	}
	return cfg.check()
}

func (c *settings) check() error {
	if c.Prefix != "" && !promname.ValidMetric(c.Prefix) {
		return fmt.Errorf("prefix %q is not a valid Prometheus metric name: use letters, digits, '_' and ':', not starting with a digit", c.Prefix)
	}
	if _, err := net.ResolveTCPAddr("tcp", c.Listen); err != nil {
		return fmt.Errorf("listening for Prometheus on %s: %w", c.Listen, err)
	}
	return nil
}

func (o *output) Configure(_ context.Context, c sdk.Config) error {
	if err := c.Decode(&o.cfg); err != nil {
		return err
	}
	if err := o.cfg.check(); err != nil {
		return err
	}
	o.fleet = newFleet(o.cfg.Prefix)
	ln, err := net.Listen("tcp", o.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for Prometheus on %s: %w", o.cfg.Listen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", o.serveMetrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, `statsherd prometheus output: metrics at /metrics`)
	})
	o.ln = ln
	o.srv = &http.Server{Handler: o.hostCheck(mux, ln.Addr()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("serving /metrics", "error", err)
		}
	}()
	o.log.Info("serving metrics", "address", "http://"+ln.Addr().String()+"/metrics")
	return nil
}

// Write keeps the latest sample of every node in the round and forgets
// the nodes gone stale, then renders, in the background, the page that
// scrapes are served until the next round: the gatherer's round is done
// once the output has the samples, and a scrape that arrives during the
// render waits for its page.
func (o *output) Write(ctx context.Context, r sdk.Round) error {
	return o.WriteNodes(ctx, sdk.NodesOf(r))
}

// WriteNodes is Write, node by node: each node's sample is folded into
// the fleet as it is decoded, so the output never holds the round; the
// page is rendered from the fleet once the round's last node is in.
func (o *output) WriteNodes(_ context.Context, r *sdk.RoundNodes) error {
	if o.fleet == nil {
		return errors.New("write before configure")
	}
	o.mu.Lock()
	f := o.fleet
	f.update(r)
	if o.cfg.StaleAfter > 0 {
		f.forget(o.now().Add(-o.cfg.StaleAfter))
	}
	if f.collisions > 0 {
		o.log.Warn("values dropped: their Prometheus name belongs to another statsherd name", "values", f.collisions, "example", f.collided)
		f.collisions = 0
	}
	done := make(chan struct{})
	o.rendered.Store(&done)
	go func() {
		defer o.mu.Unlock()
		defer close(done)
		o.render()
	}()
	return nil
}

// render renders the fleet into a new page; o.mu is held.
func (o *output) render() {
	start := time.Now()
	prev := o.page.Load()
	var gz bytes.Buffer
	gz.Grow(len(prev.gz) + len(prev.gz)/8)
	if o.zw == nil {
		o.zw, _ = gzip.NewWriterLevel(&gz, gzipLevel)
	} else {
		o.zw.Reset(&gz)
	}
	size, series, err := o.fleet.render(o.zw)
	if err == nil {
		err = o.zw.Close()
	}
	if err != nil {
		// Writing to memory does not fail; keep the previous page if it did.
		o.log.Error("rendering the exposition", "error", err)
		return
	}
	o.page.Store(&page{gz: gz.Bytes(), size: size, series: series})
	o.log.Debug("exposition rendered", "nodes", len(o.fleet.nodes), "series", series, "bytes", size, "gzip_bytes", gz.Len(), "took", time.Since(start))
}

// current returns the page of the newest round written, waiting for its
// render; nil if ctx ends first.
func (o *output) current(ctx context.Context) *page {
	if done := o.rendered.Load(); done != nil {
		select {
		case <-*done:
		case <-ctx.Done():
			return nil
		}
	}
	return o.page.Load()
}

// gzipLevel trades the page's size for the time to render it.
const gzipLevel = gzip.BestSpeed

func emptyPage() *page {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Close()
	return &page{gz: b.Bytes()}
}

// serveMetrics serves the current page: its gzip bytes as they are to a
// scraper that accepts gzip (Prometheus always does), else decompressed
// on the fly.
func (o *output) serveMetrics(w http.ResponseWriter, r *http.Request) {
	p := o.current(r.Context())
	if p == nil {
		return // the scraper went away
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Vary", "Accept-Encoding")
	if gzipAccepted(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(p.gz)))
		if r.Method != http.MethodHead {
			w.Write(p.gz)
		}
		return
	}
	h.Set("Content-Length", strconv.Itoa(p.size))
	if r.Method == http.MethodHead {
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(p.gz))
	if err == nil {
		_, err = io.Copy(w, zr)
	}
	if err != nil && r.Context().Err() == nil {
		o.log.Error("serving /metrics", "error", err)
	}
}

// gzipAccepted reports whether an Accept-Encoding header takes gzip.
func gzipAccepted(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(q, 64)
		return err != nil || v > 0
	}
	return false
}

func (o *output) Close(ctx context.Context) error {
	if o.srv == nil {
		return nil
	}
	// Let a render end.
	o.mu.Lock()
	o.mu.Unlock()
	return o.srv.Shutdown(ctx)
}

// MetricName turns a statsherd name into a Prometheus metric name:
// "load_monitor.avg_load" → "statsherd_load_monitor_avg_load" (see
// promname.Metric, shared with the remote_write output).
func MetricName(prefix, name string) string { return promname.Metric(prefix, name) }

var (
	_ sdk.Output     = (*output)(nil)
	_ sdk.NodeWriter = (*output)(nil)
)

// hostCheck serves h only to requests whose Host is allowed (see
// settings.AllowedHosts), 421 to others.
func (o *output) hostCheck(h http.Handler, addr net.Addr) http.Handler {
	allowed := map[string]bool{}
	for _, a := range o.cfg.AllowedHosts {
		allowed[strings.ToLower(hostOnly(a))] = true
	}
	loopback := false
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		loopback = true
	}
	if len(allowed) == 0 && !loopback {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := allowed[strings.ToLower(hostOnly(r.Host))]
		if len(allowed) == 0 {
			ok = loopbackHost(r.Host)
		}
		if !ok {
			http.Error(w, fmt.Sprintf("this /metrics answers only to the hosts it allows (allowed_hosts), not Host %q", r.Host), http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether a Host header names this machine's
// loopback interface: localhost or a loopback address (as the status
// pages' check; a plugin does not import the daemons' packages).
func loopbackHost(host string) bool {
	host = strings.TrimSuffix(hostOnly(host), ".")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// hostOnly is a Host header's name or address, without a port or brackets.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}
