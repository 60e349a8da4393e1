package openmetrics

import (
	"bytes"
	"strings"
)

// expfmt's text parser reads the Prometheus text format 0.0.4; OpenMetrics
// 1.0 differs in a few lines only, which fromOpenMetrics rewrites into
// their 0.0.4 spelling before the parser sees them (it parses nothing
// itself):
//
//   - a counter family is named without _total (# TYPE x counter, samples
//     x_total): the TYPE line names x_total;
//   - _created samples of counters, histograms and summaries are dropped
//     (Prometheus keeps them only on request);
//   - types info, stateset and unknown become gauge, gauge and untyped
//     (an info family x has samples x_info); gaugehistogram loses its
//     TYPE line (its samples are untyped);
//   - a sample's timestamp (seconds, with a fraction) and exemplar are
//     cut: the producer's samples are taken at collect time;
//   - # UNIT and # EOF are comments to the 0.0.4 parser already.
func fromOpenMetrics(body []byte) []byte {
	out := make([]byte, 0, len(body))
	created := map[string]bool{} // families whose _created samples go
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if rest, ok := bytes.CutPrefix(line, []byte("# TYPE ")); ok {
			f := strings.Fields(string(rest))
			if len(f) == 2 {
				name, typ := f[0], f[1]
				switch typ {
				case "counter":
					created[name] = true
					name += "_total"
				case "histogram", "summary":
					created[name] = true
				case "info":
					name, typ = name+"_info", "gauge"
				case "stateset":
					typ = "gauge"
				case "unknown":
					typ = "untyped"
				case "gaugehistogram":
					continue
				}
				out = append(out, "# TYPE "...)
				out = append(out, name...)
				out = append(out, ' ')
				out = append(out, typ...)
				out = append(out, '\n')
				continue
			}
		}
		if len(line) == 0 || line[0] == '#' {
			out = append(out, line...)
			out = append(out, '\n')
			continue
		}
		name, value := splitSample(line)
		if base, ok := strings.CutSuffix(string(name), "_created"); ok && created[base] {
			continue
		}
		out = append(out, value...)
		out = append(out, '\n')
	}
	return out
}

// splitSample returns a sample line's metric name, and the line up to the
// end of its value (timestamp and exemplar cut).
func splitSample(line []byte) (name, upToValue []byte) {
	i := 0
	for i < len(line) && line[i] != '{' && line[i] != ' ' {
		i++
	}
	name = line[:i]
	if i < len(line) && line[i] == '{' {
		// Past the labels: quoted values may hold '}', ' ' and '#'.
		quoted := false
		for i++; i < len(line); i++ {
			switch c := line[i]; {
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case !quoted && c == '}':
				i++
				goto value
			}
		}
		return name, line
	}
value:
	for i < len(line) && line[i] == ' ' {
		i++
	}
	for i < len(line) && line[i] != ' ' {
		i++
	}
	return name, line[:i]
}
