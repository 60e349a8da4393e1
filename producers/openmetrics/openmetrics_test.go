package openmetrics

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// want is what both testdata expositions give (besides build_info).
func want() sdk.Stats {
	return sdk.Stats{
		Counters: map[string]int64{
			`node_cpu_seconds{cpu="0",mode="idle"}`: 12345,
			`node_cpu_seconds{cpu="0",mode="user"}`: 89,
		},
		Stats: map[string]sdk.Value{
			"node_load1":                                      sdk.Float(0.25),
			`node_up_untyped{job="x",node="other"}`:           sdk.Float(1),
			`http_request_duration_seconds_bucket{le="0.05"}`: sdk.Float(24054),
			`http_request_duration_seconds_bucket{le="0.1"}`:  sdk.Float(33444),
			`http_request_duration_seconds_bucket{le="+Inf"}`: sdk.Float(144320),
			"http_request_duration_seconds_sum":               sdk.Float(53423),
			"http_request_duration_seconds_count":             sdk.Float(144320),
			`rpc_duration_seconds{quantile="0.5"}`:            sdk.Float(4773),
			`rpc_duration_seconds{quantile="0.99"}`:           sdk.Float(76656),
			"rpc_duration_seconds_sum":                        sdk.Float(1.7560473e+07),
			"rpc_duration_seconds_count":                      sdk.Float(2693),
		},
	}
}

// target serves body with contentType, gzipped when asked; hits counts
// the requests.
func target(t *testing.T, body, contentType string, hits *atomic.Int64) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		w.Header().Set("Content-Type", contentType)
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			gz.Write([]byte(body))
			return
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func configured(t *testing.T, cfg map[string]any) sdk.Producer {
	t.Helper()
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	b, _ := json.Marshal(cfg)
	if err := p.Configure(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return p
}

func withoutOwn(st sdk.Stats) sdk.Stats {
	for k := range st.Stats {
		if sdk.ValidName(k) != nil && strings.HasPrefix(k, "openmetrics.") {
			delete(st.Stats, k)
		}
	}
	return st
}

// TestFormats: the text format 0.0.4 and OpenMetrics 1.0, gzipped, give
// the same series; a name statsherd cannot hold (weird:name) is dropped
// and said.
func TestFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, contentType string }{
		{"testdata/text-0.0.4.txt", "text/plain; version=0.0.4; charset=utf-8"},
		{"testdata/openmetrics-1.0.txt", "application/openmetrics-text; version=1.0.0; charset=utf-8"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			s := target(t, string(body), tc.contentType, nil)
			st, err := configured(t, map[string]any{"url": s.URL + "/metrics"}).Collect(context.Background())
			if err == nil || !strings.Contains(err.Error(), "dropped 1 series") || !strings.Contains(err.Error(), "weird:name") {
				t.Errorf("error %v, want one dropped series named", err)
			}
			w := want()
			if strings.Contains(tc.file, "openmetrics") {
				w.Stats[`build_info{path="a}b",version="1.2 # {x}"}`] = sdk.Float(1)
			}
			if got := withoutOwn(st); !reflect.DeepEqual(got, w) {
				t.Errorf("stats\n got %v\nwant %v", got, w)
			}
		})
	}
}

// TestLimits: more series than sample_limit, or a body over
// body_size_limit, fail the scrape as a whole; the producer's own stats
// say so.
func TestLimits(t *testing.T) {
	t.Parallel()
	body, _ := os.ReadFile("testdata/text-0.0.4.txt")
	s := target(t, string(body), "text/plain; version=0.0.4", nil)
	for _, tc := range []struct {
		cfg  map[string]any
		want string
	}{
		{map[string]any{"url": s.URL, "sample_limit": 5}, "more than sample_limit (5)"},
		{map[string]any{"url": s.URL, "body_size_limit": 100}, "larger than body_size_limit (100 bytes)"},
	} {
		st, err := configured(t, tc.cfg).Collect(context.Background())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.cfg, err, tc.want)
		}
		if v, _ := st.Stats[`openmetrics.up{url="`+s.URL+`"}`].Int64(); v != 0 || len(st.Stats) != 3 || len(st.Counters) != 0 {
			t.Errorf("%v: a failed scrape: %v, want its own 3 stats only", tc.cfg, st)
		}
	}
}

// TestDownTarget: a target that does not answer costs its own series,
// with the same error at every collect (the host logs it once per
// change), within the collect's deadline; it comes back by itself.
func TestDownTarget(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := configured(t, map[string]any{"url": "http://" + addr + "/metrics"})
	var errs []string
	for range 2 {
		st, err := p.Collect(context.Background())
		if err == nil || len(st.Counters) != 0 {
			t.Fatalf("down target: %v, %v", st, err)
		}
		if v, _ := st.Stats[`openmetrics.up{url="http://`+addr+`/metrics"}`].Int64(); v != 0 {
			t.Errorf("up = %v", st.Stats)
		}
		errs = append(errs, err.Error())
	}
	if errs[0] != errs[1] {
		t.Errorf("the error changes from collect to collect: %q, %q", errs[0], errs[1])
	}
	// A hung target: the collect's deadline bounds the scrape.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	p = configured(t, map[string]any{"url": hang.URL})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	if _, err := p.Collect(ctx); err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Errorf("hung target: error %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("hung target: collect took %v, past its deadline", d)
	}
}

// TestHonorLabels: a scraped label named as one of labels is renamed
// exported_NAME unless honor_labels.
func TestHonorLabels(t *testing.T) {
	t.Parallel()
	s := target(t, "# TYPE x gauge\nx{job=\"scraped\",a=\"1\"} 1\n", "text/plain; version=0.0.4", nil)
	for honor, want := range map[bool]string{
		false: `x{a="1",exported_job="scraped",job="static"}`,
		true:  `x{a="1",job="scraped"}`,
	} {
		st, err := configured(t, map[string]any{"url": s.URL, "labels": map[string]string{"job": "static"}, "honor_labels": honor}).Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Stats[want]; !ok {
			t.Errorf("honor_labels %v: %v, want %s", honor, st.Stats, want)
		}
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "ok", Config: `{"url": "http://127.0.0.1:9100/metrics"}`, OK: true},
		{Name: "no url", Config: `{}`},
		{Name: "not http", Config: `{"url": "ftp://x/metrics"}`},
		{Name: "bad limit", Config: `{"url": "http://x/", "sample_limit": 0}`},
		{Name: "bad label", Config: `{"url": "http://x/", "labels": {"a-b": "1"}}`},
	})
}

func TestExampleAndREADME(t *testing.T) {
	t.Parallel()
	producertest.DecodeExample(t, "example.hcl", Name, New(hclog.NewNullLogger()))
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}

// FuzzConvert: no exposition crashes the conversion, and every series it
// keeps is valid.
func FuzzConvert(f *testing.F) {
	for _, file := range []string{"testdata/text-0.0.4.txt", "testdata/openmetrics-1.0.txt"} {
		b, _ := os.ReadFile(file)
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, body []byte, om bool) {
		ct := "text/plain; version=0.0.4"
		if om {
			ct = "application/openmetrics-text; version=1.0.0"
		}
		st, _, _ := convert(body, ct, 1000, nil, false, "t")
		for k := range st.Counters {
			if sdk.ValidSeries(k) != nil {
				t.Fatalf("invalid counter %q", k)
			}
		}
		for k := range st.Stats {
			if sdk.ValidSeries(k) != nil {
				t.Fatalf("invalid stat %q", k)
			}
		}
	})
}
