package stdout

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/plugindoc"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func round() sdk.Round {
	a := sdk.NewStats()
	a.Counters["storage_server.allocate"] = 12
	a.Stats["load_monitor.avg_load"] = sdk.Float(0.01)
	a.Stats["storage_server.disk_avail"] = sdk.Null
	b := sdk.NewStats()
	b.Stats["cpu_monitor.1min_avg"] = sdk.Float(0.5)
	at := time.Unix(1764000000, 0)
	return sdk.Round{Time: at, Nodes: []sdk.NodeSample{
		{ID: "zzzzbbbbccccddddeeeeffffgggghhhh", Nickname: "storage-02", Timestamp: at, Stats: b},
		{ID: "aaaabbbbccccddddeeeeffffgggghhhh", Nickname: "storage-01", Timestamp: at, Stats: a},
	}}
}

func configure(t *testing.T, out sdk.Output, cfg map[string]any) error {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out.Configure(t.Context(), sdk.Config(b))
}

func TestWriteGolden(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rounds.txt")
	out := plugintest.Output(t, New(hclog.NewNullLogger()))
	if err := configure(t, out, map[string]any{"path": path}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := out.Write(t.Context(), round()); err != nil {
			t.Fatal(err)
		}
	}
	if err := out.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "two_rounds.txt")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", golden, got)
	}
}

func TestConfigureErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     map[string]any
		wantErr string
	}{
		{"unknown attribute", map[string]any{"colour": "red"}, "unknown field"},
		{"unwritable path", map[string]any{"path": filepath.Join(t.TempDir(), "missing", "dir", "f")}, "opening output file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := configure(t, New(hclog.NewNullLogger()), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Configure = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestWriteBeforeConfigure(t *testing.T) {
	t.Parallel()
	if err := New(hclog.NewNullLogger()).Write(context.Background(), round()); err == nil {
		t.Error("Write before Configure succeeded")
	}
}

// TestExample decodes example.hcl against the output's schema, and holds
// the README to the schema, so neither can rot.
func TestExample(t *testing.T) {
	t.Parallel()
	plugindoc.DecodeExample(t, "example.hcl", sdk.KindOutput, Name, New(hclog.NewNullLogger()))
	plugindoc.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
