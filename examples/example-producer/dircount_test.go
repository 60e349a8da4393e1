package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCollect(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name               string
		files              map[string]string
		pattern            string
		nfiles, size, nlns int64
	}{
		{"empty", nil, "*", 0, 0, 0},
		{"all", map[string]string{"a.log": "1\n2\n3\n", "b.txt": "no newline", "c.log": ""}, "*", 3, 16, 3},
		{"pattern", map[string]string{"a.log": "1\n2\n3\n", "b.txt": "x\n"}, "*.log", 1, 6, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			if err := os.Mkdir(filepath.Join(dir, "sub.log"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := plugintest.Producer(t, New(hclog.NewNullLogger()))
			cfg, _ := json.Marshal(map[string]string{"dir": dir, "pattern": tc.pattern, "prefix": "spool"})
			if err := p.Configure(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			st, err := p.Collect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]int64{"spool.files": tc.nfiles, "spool.bytes": tc.size, "spool.lines": tc.nlns} {
				if got, _ := st.Stats[name].Int64(); got != want {
					t.Errorf("%s = %v, want %d", name, st.Stats[name], want)
				}
			}
		})
	}
}

func TestMissingDir(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger())
	if err := p.Configure(context.Background(), sdk.Config(`{"dir": "/nonexistent/spool"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Collect(context.Background()); err == nil || !strings.Contains(err.Error(), "/nonexistent/spool") {
		t.Errorf("Collect error = %v, want one naming the directory", err)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cfg string
		ok        bool
	}{
		{"dir", `{"dir": "/tmp"}`, true},
		{"no dir", `{}`, false},
		{"bad pattern", `{"dir": "/tmp", "pattern": "["}`, false},
		{"bad prefix", `{"dir": "/tmp", "prefix": "a b"}`, false},
		{"unknown", `{"dir": "/tmp", "recursive": true}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := New(hclog.NewNullLogger()).Configure(context.Background(), sdk.Config(tc.cfg))
			if (err == nil) != tc.ok {
				t.Errorf("Configure(%s) = %v, want ok %v", tc.cfg, err, tc.ok)
			}
		})
	}
}

// TestDescribe checks what `example-producer describe` prints.
func TestDescribe(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := sdk.Describe(context.Background(), sdk.Plugins{Producers: map[string]func(hclog.Logger) sdk.Producer{Name: New}}, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"name": "dir_count"`) {
		t.Errorf("describe printed %s", b.String())
	}
}
