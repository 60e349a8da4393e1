package graph

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/statsherd/statsherd/munin/snapshot"
)

// tahoeJSON is the table of Tahoe-LAFS's tahoe_stats munin plugin: graph
// name, stat id, category, config header lines (in Tahoe's order) and the
// field lines, with "%(name)s" for the field name.
//
//go:embed tahoe_stats_graphs.json
var tahoeJSON []byte

type tahoeGraph struct {
	Graph    string          `json:"graph"`
	StatID   string          `json:"statid"`
	Category string          `json:"category"`
	Header   json.RawMessage `json:"header"`
	Field    []string        `json:"field"`
}

// Tahoe returns a new table holding the 26 graphs of Tahoe's tahoe_stats.
// It is built from tahoeGraphs, the table of tahoe_stats_graphs.json as Go
// source (tahoe_table.go, which a test keeps equal to the JSON): decoding
// the JSON on every plugin run cost more than half a millisecond.
func Tahoe() (*Table, error) {
	t := NewTable()
	for i := range tahoeGraphs {
		g := tahoeGraphs[i] // a copy: the table's graphs are the caller's
		if err := t.Add(&g); err != nil {
			return nil, fmt.Errorf("embedded tahoe graph table: %w", err)
		}
	}
	return t, nil
}

// tahoeFromJSON decodes tahoe_stats_graphs.json, from which tahoe_table.go
// is written.
func tahoeFromJSON() ([]Graph, error) {
	var raw []tahoeGraph
	if err := json.Unmarshal(tahoeJSON, &raw); err != nil {
		return nil, fmt.Errorf("embedded tahoe graph table: %w", err)
	}
	var out []Graph
	for _, r := range raw {
		c, ok := snapshot.ParseCategory(r.Category)
		if !ok {
			return nil, fmt.Errorf("embedded tahoe graph %s: bad category %q", r.Graph, r.Category)
		}
		header, err := orderedHeader(r.Header)
		if err != nil {
			return nil, fmt.Errorf("embedded tahoe graph %s: %w", r.Graph, err)
		}
		out = append(out, Graph{Name: r.Graph, Stat: r.StatID, Category: c, Header: header, Fields: r.Field, Origin: "tahoe_stats"})
	}
	return out, nil
}

// orderedHeader turns {"graph_title": "T", ...} into "graph_title T" lines
// in the order of the object's keys.
func orderedHeader(obj json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("header is not an object")
	}
	var lines []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("header %v: %w", k, err)
		}
		lines = append(lines, fmt.Sprintf("%s %s", k, v))
	}
	return lines, nil
}
