package upload_helper

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

var now = time.Unix(1764000000, 0)

type file struct {
	name string
	size int
	age  time.Duration
}

// makeDir creates dir holding files of the given sizes, modified age
// before now.
func makeDir(t *testing.T, dir string, files []file) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, make([]byte, f.size), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := now.Add(-f.age)
		if err := os.Chtimes(path, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
}

func configure(t *testing.T, p sdk.Producer, inc, enc string, oldAfter time.Duration) {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"incoming_dir": inc, "encoding_dir": enc, "old_after": oldAfter})
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestCollect(t *testing.T) {
	t.Parallel()
	h := time.Hour
	cases := []struct {
		name          string
		incoming      []file // nil: the directory does not exist
		encoding      []file
		oldAfter      time.Duration
		want          map[string]int64
		wantErrSubstr string
	}{
		{
			name:     "empty directories",
			incoming: []file{}, encoding: []file{}, oldAfter: 48 * h,
			want: map[string]int64{"incoming_count": 0, "incoming_size": 0, "incoming_size_old": 0,
				"encoding_count": 0, "encoding_size": 0, "encoding_size_old": 0},
		},
		{
			name:     "sizes and ages",
			incoming: []file{{"a", 1000, time.Minute}, {"b", 200, 49 * h}, {"c", 30, 72 * h}},
			encoding: []file{{"x", 4096, 47 * h}, {"y", 1, 50 * h}},
			oldAfter: 48 * h,
			want: map[string]int64{"incoming_count": 3, "incoming_size": 1230, "incoming_size_old": 230,
				"encoding_count": 2, "encoding_size": 4097, "encoding_size_old": 1},
		},
		{
			name:     "shorter old_after",
			incoming: []file{{"a", 1000, 2 * h}, {"b", 10, 0}},
			encoding: []file{},
			oldAfter: h,
			want: map[string]int64{"incoming_count": 2, "incoming_size": 1010, "incoming_size_old": 1000,
				"encoding_count": 0, "encoding_size": 0, "encoding_size_old": 0},
		},
		{
			name:          "missing encoding directory",
			incoming:      []file{{"a", 5, 0}},
			encoding:      nil,
			oldAfter:      48 * h,
			want:          map[string]int64{"incoming_count": 1, "incoming_size": 5, "incoming_size_old": 0},
			wantErrSubstr: "CHK_encoding",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := t.TempDir()
			inc, enc := filepath.Join(base, "CHK_incoming"), filepath.Join(base, "CHK_encoding")
			if tc.incoming != nil {
				makeDir(t, inc, tc.incoming)
			}
			if tc.encoding != nil {
				makeDir(t, enc, tc.encoding)
			}
			p := New(hclog.NewNullLogger()).(*producer)
			p.now = func() time.Time { return now }
			configure(t, p, inc, enc, tc.oldAfter)
			st, err := p.Collect(context.Background())
			switch {
			case tc.wantErrSubstr == "" && err != nil:
				t.Fatalf("Collect: %v", err)
			case tc.wantErrSubstr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrSubstr)):
				t.Fatalf("Collect error = %v, want one naming %s", err, tc.wantErrSubstr)
			}
			if len(st.Stats) != len(tc.want) {
				t.Errorf("got %v, want %v", st.Stats, tc.want)
			}
			for k, w := range tc.want {
				if g, ok := st.Stats["chk_upload_helper."+k].Int64(); !ok || g != w {
					t.Errorf("%s = %v, want %d", k, st.Stats["chk_upload_helper."+k], w)
				}
			}
		})
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "both dirs", Config: `{"incoming_dir": "/a", "encoding_dir": "/b"}`, OK: true},
		{Name: "missing encoding_dir", Config: `{"incoming_dir": "/a"}`, OK: false},
		{Name: "zero old_after", Config: `{"incoming_dir": "/a", "encoding_dir": "/b", "old_after": 0}`, OK: false},
		{Name: "unknown attribute", Config: `{"incoming_dir": "/a", "encoding_dir": "/b", "dir": "/c"}`, OK: false},
	})
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if p.cfg.OldAfter != 48*time.Hour || !strings.HasSuffix(p.cfg.IncomingDir, "CHK_incoming") {
		t.Errorf("decoded %+v", p.cfg)
	}
	bad := `producer "upload_helper" {
  incoming_dir = "/a"
  encoding_dir = "/b"
  old_after    = "two days"
}`
	if _, diags := producertest.Decode([]byte(bad), "bad.hcl", Name, p); !diags.HasErrors() || !strings.Contains(diags.Error(), "bad.hcl:4") {
		t.Errorf("a bad duration gave %v, want a diagnostic at bad.hcl:4", diags)
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	inc, enc := filepath.Join(base, "in"), filepath.Join(base, "enc")
	makeDir(t, inc, []file{{"a", 10, 0}, {"b", 20, 0}})
	makeDir(t, enc, []file{{"c", 7, 0}})
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	configure(t, p, inc, enc, time.Hour)
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Stats["chk_upload_helper.incoming_size"].Int64(); n != 30 {
		t.Errorf("incoming_size = %d, want 30", n)
	}
	if n, _ := st.Stats["chk_upload_helper.encoding_count"].Int64(); n != 1 {
		t.Errorf("encoding_count = %d, want 1", n)
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
