package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func round(t0 time.Time, nodes ...string) sdk.Round {
	r := sdk.Round{Time: t0}
	for i, n := range nodes {
		st := sdk.NewStats()
		st.Counters["storage_server.allocate"] = int64(10 * (i + 1))
		st.Stats["load_monitor.avg_load"] = sdk.Float(0.25)
		st.Stats["cpu_monitor.1min_avg"] = sdk.Null
		r.Nodes = append(r.Nodes, sdk.NodeSample{ID: "id" + n, Nickname: n, Timestamp: t0.Add(-time.Second), Stats: st})
	}
	return r
}

func TestWrite(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1764000000, 500000000)
	cases := []struct {
		name   string
		rounds []sdk.Round
	}{
		{"one round, two nodes", []sdk.Round{round(t0, "storage-01", "storage-02")}},
		{"three rounds", []sdk.Round{round(t0, "a"), round(t0.Add(time.Minute), "a", "b"), round(t0.Add(2 * time.Minute))}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "rounds.jsonl")
			if err := os.WriteFile(path, []byte("{\"earlier\": true}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			o := plugintest.Output(t, New(hclog.NewNullLogger()))
			ctx := context.Background()
			cfg, _ := json.Marshal(map[string]string{"path": path})
			if err := o.Configure(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.rounds {
				if err := o.Write(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.Close(ctx); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Scan() // the line that was there before: appended, not truncated
			if sc.Text() != `{"earlier": true}` {
				t.Errorf("first line %q: the file was not appended to", sc.Text())
			}
			for i, r := range tc.rounds {
				if !sc.Scan() {
					t.Fatalf("line for round %d missing", i)
				}
				var got line
				if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
					t.Fatalf("round %d: %v in %s", i, err, sc.Text())
				}
				if got.Time != float64(r.Time.UnixNano())/1e9 || len(got.Nodes) != len(r.Nodes) {
					t.Errorf("round %d = %s", i, sc.Text())
				}
				for j, n := range got.Nodes {
					if n.Nickname != r.Nodes[j].Nickname || n.Stats.Counters["storage_server.allocate"] != int64(10*(j+1)) ||
						!n.Stats.Stats["cpu_monitor.1min_avg"].IsNull() {
						t.Errorf("round %d node %d = %+v", i, j, n)
					}
				}
			}
			if sc.Scan() {
				t.Errorf("extra line %q", sc.Text())
			}
		})
	}
}

func TestConfigureErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cfg, errContains string
	}{
		{"no path", `{}`, "path is required"},
		{"unwritable", `{"path": "/nonexistent/dir/rounds.jsonl"}`, "/nonexistent/dir"},
		{"unknown", `{"path": "x", "rotate": true}`, "rotate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := New(hclog.NewNullLogger()).Configure(context.Background(), sdk.Config(tc.cfg))
			if err == nil || !strings.Contains(err.Error(), tc.errContains) {
				t.Errorf("Configure(%s) = %v, want an error containing %q", tc.cfg, err, tc.errContains)
			}
		})
	}
}
