package config

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

func TestDecodeGathererLimits(t *testing.T) {
	t.Parallel()
	g, msg := decodeGathererSource(t, ``)
	if g == nil {
		t.Fatal(msg)
	}
	l := g.Limits
	if l.MaxStatsPerNode != 20000 || l.MaxNodes != 20000 || l.ForgetAfter != 7*24*time.Hour || l.MaxHandshakes != 256 ||
		l.MaxHandshakesPerAddress != 16 || g.Listen.MaxMessageSize != 4<<20 || g.Enrolment.Policy != "open" ||
		g.Enrolment.Allowlist != "/etc/statsherd/allowlist" {
		t.Errorf("defaults: %+v %+v", l, g.Enrolment)
	}
	g, msg = decodeGathererSource(t, `
basedir = "/var/lib/g"
limits {
  max_stats_per_node         = 500
  max_nodes                  = 10
  forget_after               = "0s"
  max_handshakes             = 8
  max_handshakes_per_address = 2
}
enrolment {
  policy    = "allowlist"
  allowlist = "ids.txt"
}
output "munin" { path = "stats.json" }
`)
	if g == nil {
		t.Fatal(msg)
	}
	l = g.Limits
	if l.MaxStatsPerNode != 500 || l.MaxNodes != 10 || l.ForgetAfter != 0 || l.MaxHandshakes != 8 || l.MaxHandshakesPerAddress != 2 ||
		g.Enrolment.Policy != "allowlist" || g.Enrolment.Allowlist != "/var/lib/g/ids.txt" {
		t.Errorf("decoded: %+v %+v", l, g.Enrolment)
	}
	for _, tt := range []struct{ name, src, want string }{
		{"bad policy", `enrolment { policy = "everyone" }`, "Invalid enrolment policy"},
		{"short forget_after", `limits { forget_after = "5s" }`, "forget_after must be at least 1m"},
		{"zero stats", `limits { max_stats_per_node = 0 }`, "max_stats_per_node must be a whole number from 1"},
		{"unknown attribute", `limits { max_bananas = 1 }`, "Unsupported argument"},
		{"two limits blocks", "limits {}\nlimits {}", "Duplicate limits block"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if g, msg := decodeGathererSource(t, tt.src); g != nil || !strings.Contains(msg, tt.want) {
				t.Errorf("got %q, want %q", msg, tt.want)
			}
		})
	}
}

// TestForgetAfterReachesMunin: the limits' forget_after is given to the
// built-in munin output (default or configured), unless its block sets
// its own.
func TestForgetAfterReachesMunin(t *testing.T) {
	t.Parallel()
	forget := func(b hcl.Body) string {
		attrs, diags := b.JustAttributes()
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		a, ok := attrs["forget_after"]
		if !ok {
			return ""
		}
		v, _ := a.Expr.Value(nil)
		return v.AsString()
	}
	g, msg := decodeGathererSource(t, "limits { forget_after = \"48h\" }\noutput \"munin\" { path = \"s.json\" }\noutput \"stdout\" {}\n")
	if g == nil {
		t.Fatal(msg)
	}
	if got := forget(g.Outputs[0].Body); got != "48h0m0s" {
		t.Errorf("munin forget_after = %q", got)
	}
	if got := forget(g.Outputs[1].Body); got != "" {
		t.Errorf("stdout got forget_after %q", got)
	}
	g, _ = decodeGathererSource(t, "output \"munin\" {\n  path = \"s.json\"\n  forget_after = \"1h\"\n}\n")
	if got := forget(g.Outputs[0].Body); got != "1h" {
		t.Errorf("the block's own forget_after became %q", got)
	}
	g, _ = decodeGathererSource(t, "")
	def, diags := g.DefaultOutputs()
	if diags.HasErrors() || forget(def[0].Body) != "168h0m0s" {
		t.Errorf("default output: %v %v", forget(def[0].Body), diags)
	}
}
