package uptime

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func TestUptime(t *testing.T) {
	t.Parallel()
	start := time.Unix(1764000000, 0)
	cases := []struct {
		name    string
		elapsed time.Duration
		want    float64
	}{
		{"just started", 0, 0},
		{"a day and a half second", 24*time.Hour + 500*time.Millisecond, 86400.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			now := start
			p := New(hclog.NewNullLogger()).(*producer)
			p.now = func() time.Time { return now }
			ctx := context.Background()
			if err := p.Configure(ctx, nil); err != nil {
				t.Fatal(err)
			}
			now = now.Add(tc.elapsed)
			st, err := p.Collect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := st.Stats["node.uptime"].Float64(); got != tc.want || !st.Stats["node.uptime"].IsFloat() {
				t.Errorf("node.uptime = %v, want %v", st.Stats["node.uptime"], tc.want)
			}
		})
	}
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger())
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if _, diags := producertest.Decode([]byte(`producer "uptime" { since = "boot" }`), "bad.hcl", Name, p); !diags.HasErrors() {
		t.Error("an unknown attribute was accepted")
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	ctx := context.Background()
	if err := p.Configure(ctx, sdk.Config(`{}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	st, err := p.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := st.Stats["node.uptime"].Float64(); !ok || got < 0.01 || got > 60 {
		t.Errorf("node.uptime = %v, want about 0.01", st.Stats["node.uptime"])
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
