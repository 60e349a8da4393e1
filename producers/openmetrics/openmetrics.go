// Package openmetrics scrapes a Prometheus /metrics endpoint (text format
// 0.0.4 or OpenMetrics 1.0) at every collect, as Prometheus, vmagent or
// Telegraf's inputs.prometheus would, and reports its series with their
// labels.
package openmetrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "openmetrics"

// Defaults of the configuration.
const (
	DefaultSampleLimit   = 10000
	DefaultBodySizeLimit = 16 << 20
	DefaultTimeout       = 10 * time.Second
)

// acceptHeader asks for OpenMetrics 1.0 first, then the text format, as
// Prometheus does.
const acceptHeader = "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1"

type config struct {
	URL           string            `json:"url"`
	SampleLimit   int               `json:"sample_limit"`
	BodySizeLimit int               `json:"body_size_limit"`
	Timeout       time.Duration     `json:"scrape_timeout"`
	Labels        map[string]string `json:"labels"`
	HonorLabels   bool              `json:"honor_labels"`
}

type producer struct {
	log    hclog.Logger
	cfg    config
	client *http.Client
	// target is the url label of the producer's own stats.
	target string
	static []sdk.Label
}

// New returns the openmetrics producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "Scrapes a Prometheus /metrics endpoint (text 0.0.4 or OpenMetrics 1.0) at every collect; its series keep their labels.",
		Stats: []sdk.StatInfo{
			{Name: "openmetrics.up", Kind: sdk.Stat, Description: "1 if the last scrape worked, else 0 (label url)"},
			{Name: "openmetrics.scrape_samples", Kind: sdk.Stat, Description: "series the last scrape returned (label url)"},
			{Name: "openmetrics.scrape_duration_seconds", Kind: sdk.Stat, Unit: "seconds", Description: "how long the last scrape took (label url)"},
		},
		Config: sdk.Schema{
			{Name: "url", Type: sdk.String, Required: true, Description: "the endpoint, http or https, such as \"http://127.0.0.1:9100/metrics\""},
			{Name: "sample_limit", Type: sdk.Number, Default: DefaultSampleLimit, Description: "a scrape with more series than this fails as a whole, as in Prometheus"},
			{Name: "body_size_limit", Type: sdk.Number, Default: DefaultBodySizeLimit, Description: "a scrape whose body (uncompressed) is larger fails, in bytes"},
			{Name: "scrape_timeout", Type: sdk.Duration, Default: DefaultTimeout, Description: "a scrape that takes longer fails (and always before the host's deadline for the collect)"},
			{Name: "labels", Type: sdk.MapOfString, Default: map[string]string{}, Description: "labels added to every series, as Prometheus's target labels"},
			{Name: "honor_labels", Type: sdk.Bool, Default: false, Description: "when a scraped label has the name of one in labels: false keeps labels' and renames the scraped one exported_NAME, true keeps the scraped one"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	p.cfg = config{SampleLimit: DefaultSampleLimit, BodySizeLimit: DefaultBodySizeLimit, Timeout: DefaultTimeout}
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	u, err := url.Parse(p.cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("openmetrics: url %q: want an http or https URL, such as \"http://127.0.0.1:9100/metrics\"", p.cfg.URL)
	}
	if p.cfg.SampleLimit <= 0 || p.cfg.BodySizeLimit <= 0 || p.cfg.Timeout <= 0 {
		return errors.New("openmetrics: sample_limit, body_size_limit and scrape_timeout must be positive")
	}
	p.static = p.static[:0]
	for k, v := range p.cfg.Labels {
		p.static = append(p.static, sdk.L(k, v))
	}
	if _, err := sdk.Series("x", p.static...); err != nil {
		return fmt.Errorf("openmetrics: labels: %w", err)
	}
	// The url label of the producer's own stats: the URL without its
	// user information, cut to a label's length.
	u.User = nil
	p.target = u.String()
	if len(p.target) > sdk.MaxLabelValueLen {
		p.target = strings.ToValidUTF8(p.target[:sdk.MaxLabelValueLen], "")
	}
	// Go's transport asks for gzip and decompresses it; the body limit
	// applies to what it gives.
	p.client = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: false, MaxIdleConns: 1}}
	return nil
}

func (p *producer) Collect(ctx context.Context) (sdk.Stats, error) {
	start := time.Now()
	st, n, err := p.scrape(ctx)
	up := int64(1)
	if st.Counters == nil {
		up = 0
		// A target that is down costs its own stats only; the host logs
		// the error once per change (so it names no changing detail).
		// (An error with stats is series dropped from a good scrape.)
		st = sdk.NewStats()
	}
	own := func(name string) string { return sdk.MustSeries(name, sdk.L("url", p.target)) }
	st.Stats[own("openmetrics.up")] = sdk.Int(up)
	st.Stats[own("openmetrics.scrape_samples")] = sdk.Int(int64(n))
	st.Stats[own("openmetrics.scrape_duration_seconds")] = sdk.Float(time.Since(start).Seconds())
	return st, err
}

// scrape fetches and converts the target's series; n is how many.
func (p *producer) scrape(ctx context.Context) (sdk.Stats, int, error) {
	timeout := p.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		// End before the host gives up on the collect, so the error is
		// ours, not a timeout of the whole plugin call (as the exec
		// producer's commands do).
		left := time.Until(dl)
		timeout = max(min(timeout, left-left/10-50*time.Millisecond), time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.URL, nil)
	if err != nil {
		return sdk.Stats{}, 0, fmt.Errorf("scraping %s: %w", p.target, err)
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "statsherd-openmetrics")
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return sdk.Stats{}, 0, fmt.Errorf("scraping %s: no answer within %s", p.target, timeout.Round(time.Millisecond))
		}
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return sdk.Stats{}, 0, fmt.Errorf("scraping %s: %w", p.target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return sdk.Stats{}, 0, fmt.Errorf("scraping %s: HTTP status %s", p.target, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.cfg.BodySizeLimit)+1))
	if err != nil {
		return sdk.Stats{}, 0, fmt.Errorf("scraping %s: reading the body: %w", p.target, err)
	}
	if len(body) > p.cfg.BodySizeLimit {
		return sdk.Stats{}, 0, fmt.Errorf("scraping %s: the body is larger than body_size_limit (%d bytes)", p.target, p.cfg.BodySizeLimit)
	}
	return convert(body, resp.Header.Get("Content-Type"), p.cfg.SampleLimit, p.static, p.cfg.HonorLabels, p.target)
}

func (p *producer) Close(context.Context) error {
	if p.client != nil {
		p.client.CloseIdleConnections()
	}
	return nil
}

var _ sdk.Producer = (*producer)(nil)
