// Package prometheus is the prometheus output: it serves the latest sample
// of every node on an HTTP /metrics endpoint for a Prometheus server to
// scrape. Counters become Prometheus counters (NAME_total), stats gauges;
// every series is labelled with the node's id and nickname.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "prometheus"

type settings struct {
	Listen     string        `json:"listen"`
	Prefix     string        `json:"prefix"`
	StaleAfter time.Duration `json:"stale_after"`
}

type output struct {
	log hclog.Logger
	now func() time.Time
	cfg settings

	srv *http.Server
	ln  net.Listener

	mu    sync.RWMutex
	nodes map[string]sdk.NodeSample
	names nameCache
}

// New returns the prometheus output.
func New(log hclog.Logger) sdk.Output {
	return &output{log: log, now: time.Now, nodes: map[string]sdk.NodeSample{}, names: nameCache{}}
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "serves the latest sample of every node on /metrics for Prometheus to scrape",
		Config: sdk.Schema{
			{Name: "listen", Type: sdk.String, Default: "127.0.0.1:9469", Description: "address of the /metrics HTTP server"},
			{Name: "prefix", Type: sdk.String, Default: "statsherd", Description: "prefix of every metric name"},
			{Name: "stale_after", Type: sdk.Duration, Default: 5 * time.Minute, Description: "nodes not heard from for this long are not exported"},
		},
	}, nil
}

func (o *output) Configure(_ context.Context, c sdk.Config) error {
	if err := c.Decode(&o.cfg); err != nil {
		return err
	}
	if o.cfg.Prefix != "" && !promname.ValidMetric(o.cfg.Prefix) {
		return fmt.Errorf("prefix %q is not a valid Prometheus metric name", o.cfg.Prefix)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collector{o}); err != nil {
		return fmt.Errorf("registering the collector: %w", err)
	}
	ln, err := net.Listen("tcp", o.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening for Prometheus on %s: %w", o.cfg.Listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: errorLog{o.log}, ErrorHandling: promhttp.ContinueOnError}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, `statsherd prometheus output: metrics at /metrics`)
	})
	o.ln = ln
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("serving /metrics", "error", err)
		}
	}()
	o.log.Info("serving metrics", "address", "http://"+ln.Addr().String()+"/metrics")
	return nil
}

// Write keeps the latest sample of every node in the round.
func (o *output) Write(_ context.Context, r sdk.Round) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range r.Nodes {
		o.nodes[n.ID] = n
	}
	return nil
}

func (o *output) Close(ctx context.Context) error {
	if o.srv == nil {
		return nil
	}
	return o.srv.Shutdown(ctx)
}

// collector turns the kept samples into metrics at every scrape.
type collector struct{ o *output }

// Describe sends nothing: the metrics change with what nodes report, so
// this is an unchecked collector.
func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	o := c.o
	o.mu.Lock() // the name cache is written too
	defer o.mu.Unlock()
	cutoff := o.now().Add(-o.cfg.StaleAfter)
	seen := o.names.desc(o.cfg.Prefix, promname.LastSeen, "Unix time of the node's last answer to the gatherer.")
	for _, n := range o.nodes {
		if o.cfg.StaleAfter > 0 && n.Timestamp.Before(cutoff) {
			continue
		}
		labels := []string{n.ID, n.Nickname}
		ch <- prometheus.MustNewConstMetric(seen, prometheus.GaugeValue, float64(n.Timestamp.UnixNano())/1e9, labels...)
		for name, v := range n.Stats.Counters {
			d := o.names.desc(o.cfg.Prefix, name+promname.CounterSuffix, "statsherd counter "+name)
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
		}
		for name, v := range n.Stats.Stats {
			f, ok := v.Float64()
			if !ok {
				continue // unknown: no sample, rather than a made-up number
			}
			d := o.names.desc(o.cfg.Prefix, name, "statsherd stat "+name)
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, f, labels...)
		}
	}
}

// nameCache maps statsherd names to Prometheus descriptors, built once.
type nameCache map[string]*prometheus.Desc

func (c nameCache) desc(prefix, name, help string) *prometheus.Desc {
	if d, ok := c[name]; ok {
		return d
	}
	d := prometheus.NewDesc(MetricName(prefix, name), help, []string{promname.LabelNode, promname.LabelNickname}, nil)
	c[name] = d
	return d
}

// MetricName turns a statsherd name into a Prometheus metric name:
// "load_monitor.avg_load" → "statsherd_load_monitor_avg_load" (see
// promname.Metric, shared with the remote_write output).
func MetricName(prefix, name string) string { return promname.Metric(prefix, name) }

// errorLog adapts hclog to promhttp's error logger.
type errorLog struct{ log hclog.Logger }

func (e errorLog) Println(v ...any) { e.log.Error("serving /metrics", "error", fmt.Sprint(v...)) }

var _ sdk.Output = (*output)(nil)
