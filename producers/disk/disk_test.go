package disk

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func TestDiskStats(t *testing.T) {
	t.Parallel()
	fs := fsStats{Total: 1000, FreeForRoot: 300, FreeForNonroot: 250}
	cases := []struct {
		name      string
		fs        fsStats
		reserved  int64
		readonly  bool
		avail     int64
		accepting int64
	}{
		{"no reserve", fs, 0, false, 250, 1},
		{"reserve leaves some", fs, 100, false, 150, 1},
		{"reserve exceeds free", fs, 400, false, 0, 0},
		{"reserve exactly free", fs, 250, false, 0, 0},
		{"readonly", fs, 0, true, 0, 0},
		{"full disk", fsStats{Total: 1000}, 0, false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := diskStats(tc.fs, tc.reserved, tc.readonly)
			want := map[string]int64{
				"storage_server.disk_total":                 int64(tc.fs.Total),
				"storage_server.disk_used":                  int64(tc.fs.Total - tc.fs.FreeForRoot),
				"storage_server.disk_free_for_root":         int64(tc.fs.FreeForRoot),
				"storage_server.disk_free_for_nonroot":      int64(tc.fs.FreeForNonroot),
				"storage_server.disk_avail":                 tc.avail,
				"storage_server.reserved_space":             tc.reserved,
				"storage_server.accepting_immutable_shares": tc.accepting,
			}
			if len(got) != len(want) {
				t.Errorf("got %d stats, want %d", len(got), len(want))
			}
			for k, w := range want {
				if g, ok := got[k].Int64(); !ok || g != w {
					t.Errorf("%s = %v, want %d", k, got[k], w)
				}
			}
		})
	}
}

func TestCollect(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name    string
		path    string
		wantErr bool
		nStats  int
	}{
		{"real directory", dir, false, 7},
		{"missing directory", filepath.Join(dir, "gone"), true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := New(hclog.NewNullLogger())
			ctx := context.Background()
			if err := p.Configure(ctx, sdk.Config(`{"path": "`+tc.path+`", "reserved_space": 4096}`)); err != nil {
				t.Fatal(err)
			}
			st, err := p.Collect(ctx)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Collect error = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the path", err)
			}
			if st.Len() != tc.nStats {
				t.Errorf("got %d stats, want %d: %v", st.Len(), tc.nStats, st.Stats)
			}
			if r, _ := st.Stats["storage_server.reserved_space"].Int64(); r != 4096 {
				t.Errorf("reserved_space = %v", st.Stats["storage_server.reserved_space"])
			}
			if tc.wantErr {
				if a, _ := st.Stats["storage_server.accepting_immutable_shares"].Int64(); a != 0 {
					t.Errorf("accepting_immutable_shares = %d on an unreadable path, want 0", a)
				}
				return
			}
			total, _ := st.Stats["storage_server.disk_total"].Int64()
			used, _ := st.Stats["storage_server.disk_used"].Int64()
			free, _ := st.Stats["storage_server.disk_free_for_root"].Int64()
			if total <= 0 || used+free != total {
				t.Errorf("total %d, used %d, free_for_root %d do not add up", total, used, free)
			}
		})
	}
}

func TestCollectStatfsError(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	p.statfs = func(string) (fsStats, error) { return fsStats{}, errors.New("input/output error") }
	if err := p.Configure(context.Background(), sdk.Config(`{"path": "/srv"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Collect(context.Background()); err == nil || !strings.Contains(err.Error(), "input/output error") {
		t.Errorf("Collect error = %v, want the statfs error wrapped", err)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "path", Config: `{"path": "/srv"}`, OK: true},
		{Name: "no path", Config: `{}`, OK: false},
		{Name: "negative reserve", Config: `{"path": "/srv", "reserved_space": -1}`, OK: false},
		{Name: "fractional reserve", Config: `{"path": "/srv", "reserved_space": 1.5}`, OK: false},
		{Name: "unknown key", Config: `{"path": "/srv", "size": 1}`, OK: false},
	})
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if p.cfg.Path != "/var/lib/tahoe/storage" || p.cfg.ReservedSpace != 1000000000 || p.cfg.Readonly {
		t.Errorf("decoded %+v", p.cfg)
	}
	if _, diags := producertest.Decode([]byte(`producer "disk" {}`), "bad.hcl", Name, p); !diags.HasErrors() {
		t.Error("a block without path was accepted")
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	ctx := context.Background()
	if err := p.Configure(ctx, sdk.Config(`{"path": "/nonexistent/statsherd"}`)); err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(ctx)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/statsherd") {
		t.Errorf("Collect error = %v, want one naming the path", err)
	}
	if a, ok := st.Stats["storage_server.accepting_immutable_shares"].Int64(); !ok || a != 0 {
		t.Errorf("partial stats lost over gRPC: %v", st.Stats)
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
