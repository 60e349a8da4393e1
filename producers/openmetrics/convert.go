package openmetrics

import (
	"bytes"
	"fmt"
	"math"
	"mime"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/statsherd/statsherd/sdk"
)

// How a scraped series becomes a statsherd series (names as Prometheus
// shows them, through the prometheus output, whose counters end _total):
//
//   - a counter named NAME_total is the counter NAME (its value rounded
//     down: statsherd's counters are integers); any other counter, a
//     gauge, an untyped series are stats named as they are;
//   - a histogram is the stats NAME_bucket{le=…}, NAME_sum and NAME_count;
//     a summary NAME{quantile=…}, NAME_sum and NAME_count (stats: a
//     counter would be served NAME_count_total);
//   - labels are kept (an empty one is none); a series whose name is not
//     a statsherd name ([A-Za-z0-9_.-], so not one with ':') or that
//     cannot have its labels (more than 16, a value over 128 bytes) is
//     dropped and counted in the error.

// convert parses body, of the given Content-Type, into stats; n is the
// number of series. More than limit series is an error and no stats.
func convert(body []byte, contentType string, limit int, static []sdk.Label, honor bool, target string) (sdk.Stats, int, error) {
	if isOpenMetrics(contentType) {
		body = fromOpenMetrics(body)
	}
	tp := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := tp.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return sdk.Stats{}, 0, fmt.Errorf("scraping %s: %w", target, err)
	}
	c := converter{st: sdk.NewStats(), static: static, honor: honor}
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			c.metric(name, mf.GetType(), m)
			if c.n > limit {
				return sdk.Stats{}, c.n, fmt.Errorf("scraping %s: more than sample_limit (%d) series", target, limit)
			}
		}
	}
	if c.dropped > 0 {
		return c.st, c.n, fmt.Errorf("scraping %s: dropped %d series that cannot be statsherd series, such as %s: %s", target, c.dropped, c.example, c.why)
	}
	return c.st, c.n, nil
}

func isOpenMetrics(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/openmetrics-text"
}

type converter struct {
	st      sdk.Stats
	static  []sdk.Label
	honor   bool
	n       int
	dropped int
	example string
	why     string
	ls      []sdk.Label
}

func (c *converter) metric(name string, typ dto.MetricType, m *dto.Metric) {
	switch typ {
	case dto.MetricType_COUNTER:
		if base, ok := strings.CutSuffix(name, "_total"); ok && base != "" {
			v := m.GetCounter().GetValue()
			if v >= 0 && v < math.MaxInt64 {
				c.add(base, m, "", "", func(k string) { c.st.Counters[k] = int64(v) })
			}
			return
		}
		c.stat(name, m, "", "", m.GetCounter().GetValue())
	case dto.MetricType_GAUGE:
		c.stat(name, m, "", "", m.GetGauge().GetValue())
	case dto.MetricType_UNTYPED:
		c.stat(name, m, "", "", m.GetUntyped().GetValue())
	case dto.MetricType_SUMMARY:
		s := m.GetSummary()
		for _, q := range s.Quantile {
			c.stat(name, m, model.QuantileLabel, formatFloat(q.GetQuantile()), q.GetValue())
		}
		c.stat(name+"_sum", m, "", "", s.GetSampleSum())
		c.stat(name+"_count", m, "", "", float64(s.GetSampleCount()))
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		inf := false
		for _, b := range h.Bucket {
			inf = inf || math.IsInf(b.GetUpperBound(), 1)
			c.stat(name+"_bucket", m, model.BucketLabel, formatFloat(b.GetUpperBound()), float64(b.GetCumulativeCount()))
		}
		if !inf {
			c.stat(name+"_bucket", m, model.BucketLabel, "+Inf", float64(h.GetSampleCount()))
		}
		c.stat(name+"_sum", m, "", "", h.GetSampleSum())
		c.stat(name+"_count", m, "", "", float64(h.GetSampleCount()))
	}
}

func (c *converter) stat(name string, m *dto.Metric, extra, value string, v float64) {
	c.add(name, m, extra, value, func(k string) { c.st.Stats[k] = sdk.Float(v) })
}

// add makes the series key of name with m's labels (and extra=value if
// extra is set) and hands it to set; a series that cannot be one is
// counted as dropped.
func (c *converter) add(name string, m *dto.Metric, extra, value string, set func(string)) {
	c.n++
	ls := c.ls[:0]
	for _, l := range m.Label {
		if l.GetValue() != "" {
			ls = append(ls, sdk.L(l.GetName(), l.GetValue()))
		}
	}
	if extra != "" {
		ls = append(ls, sdk.L(extra, value))
	}
	for _, s := range c.static {
		i := indexOf(ls, s.Name)
		switch {
		case i < 0:
			ls = append(ls, s)
		case !c.honor:
			// Prometheus's honor_labels: false: the target's label wins,
			// the scraped one becomes exported_NAME.
			ls[i].Name = "exported_" + ls[i].Name
			ls = append(ls, s)
		}
	}
	c.ls = ls
	k, err := sdk.Series(name, ls...)
	if err != nil {
		c.dropped++
		if c.example == "" {
			c.example, c.why = name, err.Error()
		}
		return
	}
	set(k)
}

func indexOf(ls []sdk.Label, name string) int {
	for i, l := range ls {
		if l.Name == name {
			return i
		}
	}
	return -1
}

// formatFloat writes an le or quantile label value as Prometheus's client
// libraries do.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
