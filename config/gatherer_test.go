package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func decodeGathererSource(t *testing.T, src string) (*Gatherer, string) {
	t.Helper()
	p := NewParser()
	name := "/etc/statsherd/gatherer.hcl"
	f, diags := p.ParseSource([]byte(src), name)
	if diags.HasErrors() {
		var b bytes.Buffer
		p.WriteDiagnostics(&b, diags)
		return nil, b.String()
	}
	g, diags := DecodeGatherer(f.Body, name)
	var b bytes.Buffer
	if err := p.WriteDiagnostics(&b, diags); err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() {
		return nil, b.String()
	}
	return g, b.String()
}

func TestDecodeGatherer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, g *Gatherer)
	}{
		{"defaults", ``, func(t *testing.T, g *Gatherer) {
			if g.Basedir != "/etc/statsherd" || g.PollInterval != 60*time.Second || g.PollTimeout != DefaultGathererPollTimeout ||
				g.Nickname != DefaultGathererNickname || len(g.Outputs) != 0 || g.Listen.Port != 0 ||
				g.Listen.MaxConnections != DefaultMaxConnections || g.StatusListen != DefaultGathererStatusListen {
				t.Errorf("defaults: %+v", g)
			}
		}},
		{"everything", `
basedir        = "/var/lib/g"
nickname       = "central"
log_level      = "debug"
poll_interval  = "5s"
poll_timeout   = "2s"
output_timeout = "3s"
output_queue   = 4
listen {
  port              = 3456
  address           = "0.0.0.0"
  location          = ["gw.example.org:3456", "10.0.0.5"]
  handshake_timeout = "1s"
  max_message_size  = 1048576
  max_connections   = 100
}
status { listen = "127.0.0.1:0" }
output "munin" { path = "stats.json" }
output "mine" {
  plugin = "bin/statsherd-output-mine"
  url    = "http://x"
}
`, func(t *testing.T, g *Gatherer) {
			l := g.Listen
			if g.Basedir != "/var/lib/g" || g.Nickname != "central" || g.LogLevel != "debug" || g.PollInterval != 5*time.Second ||
				g.PollTimeout != 2*time.Second || g.OutputTimeout != 3*time.Second || g.OutputQueue != 4 ||
				l.Port != 3456 || l.Address != "0.0.0.0" || strings.Join(l.Location, ",") != "gw.example.org:3456,10.0.0.5" ||
				l.HandshakeTimeout != time.Second || l.MaxMessageSize != 1<<20 || l.MaxConnections != 100 || g.StatusListen != "127.0.0.1:0" {
				t.Errorf("decoded: %+v", g)
			}
			if len(g.Outputs) != 2 || g.Outputs[0].Name != "munin" || g.Outputs[1].Plugin != "/etc/statsherd/bin/statsherd-output-mine" {
				t.Errorf("outputs: %+v", g.Outputs)
			}
		}},
		{"short interval pulls default timeout down", `poll_interval = "1s"`, func(t *testing.T, g *Gatherer) {
			if g.PollTimeout != time.Second {
				t.Errorf("poll_timeout = %v, want 1s", g.PollTimeout)
			}
		}},
		{"status off", `status { listen = "" }`, func(t *testing.T, g *Gatherer) {
			if g.StatusListen != "" {
				t.Errorf("status listen = %q", g.StatusListen)
			}
		}},
		{"pprof off by default", `status {}`, func(t *testing.T, g *Gatherer) {
			if g.StatusPprof || g.StatusListen != DefaultGathererStatusListen {
				t.Errorf("status pprof = %v, listen %q", g.StatusPprof, g.StatusListen)
			}
		}},
		{"pprof on", `status { pprof = true }`, func(t *testing.T, g *Gatherer) {
			if !g.StatusPprof || g.StatusListen != DefaultGathererStatusListen {
				t.Errorf("status pprof = %v, listen %q", g.StatusPprof, g.StatusListen)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, diags := decodeGathererSource(t, tt.src)
			if g == nil {
				t.Fatalf("diagnostics:\n%s", diags)
			}
			tt.check(t, g)
		})
	}
}

func TestDecodeGathererErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string // substring of the printed diagnostics, with file:line,col
	}{
		{"unknown attribute", "poll_intervall = \"5s\"", `gatherer.hcl:1,1-15: Unsupported argument; An argument named "poll_intervall" is not expected here`},
		{"bad duration", "\npoll_interval = \"6O s\"", `gatherer.hcl:2,17-23: Invalid duration; "6O s" is not a duration`},
		{"zero interval", `poll_interval = "0s"`, "poll_interval must be at least"},
		{"timeout over interval", "poll_interval = \"5s\"\npoll_timeout = \"6s\"", "gatherer.hcl:2,16-20: Invalid poll_timeout"},
		{"bad log level", `log_level = "loud"`, "is not a log level"},
		{"unknown listen attribute", "listen {\n  prot = 1\n}", `gatherer.hcl:2,3-7: Unsupported argument`},
		{"port out of range", "listen {\n  port = 70000\n}", "port must be a whole number from 0 to 65535"},
		{"port not a number", `listen { port = "x" }`, "port must be a number"},
		{"bad address", `listen { address = "example.org" }`, "is not an IP address"},
		{"bad location", `listen { location = ["a b:1"] }`, "is not a host name"},
		{"bad location port", `listen { location = ["h:x"] }`, "has no valid port"},
		{"location not a list", `listen { location = 3 }`, "location must be a list of strings"},
		{"max_message_size too small", `listen { max_message_size = 10 }`, "max_message_size must be a whole number"},
		{"status not loopback", `status { listen = "0.0.0.0:80" }`, "Not a loopback address"},
		{"pprof not a bool", `status { pprof = "on" }`, "gatherer.hcl:1,18-22: Incorrect attribute value type; pprof must be true or false"},
		{"duplicate listen", "listen {}\nlisten {}", "Duplicate listen block"},
		{"duplicate output", "output \"munin\" {}\noutput \"munin\" {}", "Duplicate output"},
		{"bad output name", `output "Bad Name" {}`, "Invalid output name"},
		{"bad output timeout", `output "munin" { timeout = "soon" }`, "Invalid duration"},
		{"empty basedir", `basedir = ""`, "Empty basedir"},
		{"output_queue zero", `output_queue = 0`, "output_queue must be a whole number from 1"},
		{"syntax error", `poll_interval = `, "gatherer.hcl:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, diags := decodeGathererSource(t, tt.src)
			if g != nil {
				t.Fatalf("decoded without error: %+v", g)
			}
			if !strings.Contains(diags, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant them to contain %q", diags, tt.want)
			}
		})
	}
}

func TestLoadGatherer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, GathererFileName)
	if err := os.WriteFile(path, []byte("poll_interval = \"2s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g, diags := LoadGatherer(NewParser(), path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if g.Basedir != dir || g.PollInterval != 2*time.Second || g.Filename != path {
		t.Errorf("loaded %+v", g)
	}
	outs, diags := g.DefaultOutputs()
	if diags.HasErrors() || len(outs) != 1 || outs[0].Name != "munin" {
		t.Fatalf("default outputs %+v: %v", outs, diags)
	}
	if _, diags := LoadGatherer(NewParser(), filepath.Join(dir, "missing.hcl")); !diags.HasErrors() {
		t.Error("a missing file loaded without error")
	}
}

func FuzzDecodeGatherer(f *testing.F) {
	f.Add("poll_interval = \"5s\"\nlisten {\n  port = 3456\n  location = [\"h\", \"h:1\"]\n}\noutput \"munin\" { path = \"x\" }\n")
	f.Add("status { listen = \"127.0.0.1:0\" }\noutput_queue = 3\n")
	f.Add("listen { max_message_size = 1e100 }")
	f.Fuzz(func(t *testing.T, src string) {
		p := NewParser()
		file, diags := p.ParseSource([]byte(src), "fuzz.hcl")
		if diags.HasErrors() {
			return
		}
		g, diags := DecodeGatherer(file.Body, "/fuzz/gatherer.hcl")
		if diags.HasErrors() {
			return
		}
		if g.PollInterval <= 0 || g.PollTimeout <= 0 || g.PollTimeout > g.PollInterval || g.OutputQueue < 1 ||
			g.Listen.Port < 0 || g.Listen.Port > 65535 || g.Listen.MaxConnections < 1 || g.Listen.MaxMessageSize < 1024 {
			t.Fatalf("accepted an impossible config: %+v", g)
		}
	})
}
