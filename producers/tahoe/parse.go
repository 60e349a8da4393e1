package tahoe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/statsherd/statsherd/sdk"
)

// parseStatistics decodes the answer to statistics?t=json: Tahoe's
// StatsProvider.get_stats(), {"counters": {name: number}, "stats": {name:
// number or null}}. A null stat is "no value" (a latency percentile with
// too few samples); a null counter is left out. Names statsherd cannot
// carry and values that are not numbers are left out and named in the
// error, which comes with the rest of the stats.
func parseStatistics(b []byte) (sdk.Stats, error) {
	var raw struct {
		Counters map[string]json.RawMessage `json:"counters"`
		Stats    map[string]json.RawMessage `json:"stats"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return sdk.Stats{}, fmt.Errorf("the answer is not Tahoe's statistics JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return sdk.Stats{}, errors.New("the answer is not Tahoe's statistics JSON: more follows the JSON object")
	}
	if raw.Counters == nil && raw.Stats == nil {
		return sdk.Stats{}, errors.New(`the answer is JSON but has neither "counters" nor "stats"; is this a Tahoe node's web port?`)
	}
	st := sdk.NewStats()
	var bad []string
	for name, v := range raw.Counters {
		val, err := value(v)
		if err == nil && sdk.ValidName(name) != nil {
			err = errors.New("not a statsherd name")
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("counter %.60q: %v", name, err))
			continue
		}
		switch i, ok := val.Int64(); {
		case val.IsNull():
		case !ok:
			bad = append(bad, fmt.Sprintf("counter %.60q: not an integer", name))
		case i < 0:
			bad = append(bad, fmt.Sprintf("counter %.60q: negative", name))
		default:
			st.Counters[name] = i
		}
	}
	for name, v := range raw.Stats {
		val, err := value(v)
		if err == nil && sdk.ValidName(name) != nil {
			err = errors.New("not a statsherd name")
		}
		if err != nil {
			bad = append(bad, fmt.Sprintf("stat %.60q: %v", name, err))
			continue
		}
		st.Stats[name] = val
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		more := ""
		if len(bad) > 3 {
			more = fmt.Sprintf(" and %d more", len(bad)-3)
			bad = bad[:3]
		}
		return st, fmt.Errorf("left out %s%s", strings.Join(bad, "; "), more)
	}
	return st, nil
}

// value decodes one JSON value: an integer, a float, null, or a boolean
// (Python's True is 1).
func value(v json.RawMessage) (sdk.Value, error) {
	s := string(bytes.TrimSpace(v))
	switch s {
	case "null":
		return sdk.Null, nil
	case "true":
		return sdk.Int(1), nil
	case "false":
		return sdk.Int(0), nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return sdk.Int(i), nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return sdk.Null, errors.New("not a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return sdk.Null, nil
	}
	return sdk.Float(f), nil
}
