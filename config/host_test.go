package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testFurl is a well-formed furl.
const testFurl = "pb://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@127.0.0.1:3456/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func loadHostSource(t *testing.T, src string) (*Host, []string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "host.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	h, diags := LoadHost(NewParser(), path)
	var got []string
	for _, d := range diags {
		loc := ""
		if d.Subject != nil {
			loc = fmt.Sprintf("%s:%d,%d", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column)
		}
		got = append(got, loc+": "+d.Summary)
	}
	return h, got
}

func TestLoadHostDefaults(t *testing.T) {
	t.Parallel()
	h, diags := loadHostSource(t, `producer "load_monitor" {}`+"\n")
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	dir := filepath.Dir(h.Filename)
	host, _ := os.Hostname()
	tests := []struct {
		name      string
		got, want any
	}{
		{"nickname is the hostname", h.Nickname, host},
		{"basedir is the file's directory", h.Basedir, dir},
		{"poll timeout", h.PollTimeout, DefaultPollTimeout},
		{"statsd", h.Reporting.StatsdListen, DefaultStatsdListen},
		{"socket in basedir", h.Reporting.Socket, filepath.Join(dir, DefaultRegisterFile)},
		{"statsd expiry", h.Reporting.StatsdExpiry, time.Hour},
		{"statsd max names", h.Reporting.StatsdMaxNames, 100_000},
		{"status", h.Status.Listen, DefaultStatusListen},
		{"no gatherer", h.Gatherer.Configured(), false},
		{"log level", h.LogLevel, "info"},
		{"producers", len(h.Producers), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadHostFull(t *testing.T) {
	t.Parallel()
	h, diags := loadHostSource(t, `
nickname     = "storage-01"
basedir      = "state"
log_level    = "debug"
poll_timeout = "2s"
gatherer {
  furl        = "`+testFurl+`"
  min_backoff = "100ms"
  max_backoff = "10s"
}
reporting {
  statsd           = "127.0.0.1:0"
  socket           = "/run/statsherd/register.sock"
  statsd_expiry    = "10m"
  statsd_max_names = 500
}
status { listen = "[::1]:9000" }
producer "b" { timeout = "1s" }
producer "a" { plugin = "bin/a" }
`)
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	dir := filepath.Dir(h.Filename)
	tests := []struct {
		name      string
		got, want any
	}{
		{"nickname", h.Nickname, "storage-01"},
		{"basedir relative to the file", h.Basedir, filepath.Join(dir, "state")},
		{"log level", h.LogLevel, "debug"},
		{"poll timeout", h.PollTimeout, 2 * time.Second},
		{"furl", h.Gatherer.FURL.String(), testFurl},
		{"min backoff", h.Gatherer.MinBackoff, 100 * time.Millisecond},
		{"max backoff", h.Gatherer.MaxBackoff, 10 * time.Second},
		{"statsd", h.Reporting.StatsdListen, "127.0.0.1:0"},
		{"socket", h.Reporting.Socket, "/run/statsherd/register.sock"},
		{"statsd expiry", h.Reporting.StatsdExpiry, 10 * time.Minute},
		{"statsd max names", h.Reporting.StatsdMaxNames, 500},
		{"status", h.Status.Listen, "[::1]:9000"},
		{"producers in file order", h.Producers[0].Name + "," + h.Producers[1].Name, "b,a"},
		{"producer timeout", h.Producers[0].Timeout, time.Second},
		{"plugin path relative to the file", h.Producers[1].Plugin, filepath.Join(dir, "bin/a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// testFurl2 names another gatherer than testFurl.
const testFurl2 = "pb://cccccccccccccccccccccccccccccccccccccccccccccccccccc@127.0.0.1:3457/dddddddddddddddddddddddddddddddd"

func TestLoadHostSeveralGatherers(t *testing.T) {
	t.Parallel()
	h, diags := loadHostSource(t, `
gatherer { furl = "`+testFurl+`" }
gatherer {
  furl        = "`+testFurl2+`"
  min_backoff = "2s"
}
`)
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(h.Gatherers) != 2 || h.Gatherers[0].FURL.String() != testFurl || h.Gatherers[1].FURL.String() != testFurl2 {
		t.Fatalf("gatherers %+v, want both, in file order", h.Gatherers)
	}
	if h.Gatherers[0].MinBackoff != DefaultMinBackoff || h.Gatherers[1].MinBackoff != 2*time.Second {
		t.Errorf("each block has its own backoff: %v, %v", h.Gatherers[0].MinBackoff, h.Gatherers[1].MinBackoff)
	}
	if h.Gatherer.FURL.String() != testFurl {
		t.Errorf("Gatherer is not the first: %v", h.Gatherer.FURL)
	}
}

func TestLoadHostFurlInBasedir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, GathererFurlFileName), []byte(testFurl+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "host.hcl")
	if err := os.WriteFile(path, []byte(`nickname = "n"`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, diags := LoadHost(NewParser(), path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if want := filepath.Join(dir, GathererFurlFileName); h.Gatherer.FurlFile != want {
		t.Errorf("furl file %q, want %q", h.Gatherer.FurlFile, want)
	}
	if got := h.Gatherer.FURL.String(); got != testFurl {
		t.Errorf("furl %q, want %q", got, testFurl)
	}
}

func TestLoadHostDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown attribute", "nickname = \"a\"\ncolour = \"red\"\n", []string{"host.hcl:2,1: Unsupported argument"}},
		{"unknown block", "gather {\n}\n", []string{"host.hcl:1,1: Unsupported block type"}},
		{"bad duration", "poll_timeout = \"6O s\"\n", []string{"host.hcl:1,16: Invalid duration"}},
		{"zero duration", "poll_timeout = \"0s\"\n", []string{"host.hcl:1,16: Invalid poll_timeout"}},
		{"empty nickname", "nickname = \"\"\n", []string{"host.hcl:1,12: Invalid nickname"}},
		{"bad log level", "log_level = \"loud\"\n", []string{"host.hcl:1,13: Invalid log level"}},
		{"furl and furl_file", "gatherer {\n  furl = \"" + testFurl + "\"\n  furl_file = \"f\"\n}\n", []string{"host.hcl:3,3: Conflicting gatherer settings"}},
		{"gatherer without furl", "gatherer {}\n", []string{"host.hcl:1,1: Missing gatherer furl"}},
		{"empty furl", "gatherer { furl = \" \" }\n", []string{"host.hcl:1,19: Empty furl"}},
		{"malformed furl", "gatherer {\n  furl = \"pb://abc@host:1/secret\"\n}\n", []string{"host.hcl:2,10: Invalid gatherer furl"}},
		{"missing furl file", "gatherer { furl_file = \"nope.furl\" }\n", []string{"host.hcl:1,24: Invalid gatherer furl file"}},
		{"unknown gatherer attribute", "gatherer {\n  furl = \"" + testFurl + "\"\n  port = 1\n}\n", []string{"host.hcl:3,3: Unsupported argument"}},
		{"backoffs reversed", "gatherer {\n  furl = \"" + testFurl + "\"\n  min_backoff = \"10s\"\n  max_backoff = \"1s\"\n}\n", []string{"host.hcl:4,17: Invalid max_backoff"}},
		{"one gatherer twice", "gatherer { furl = \"" + testFurl + "\" }\ngatherer { furl = \"" + testFurl + "\" }\n", []string{"host.hcl:2,19: Duplicate gatherer"}},
		{"statsd not loopback", "reporting { statsd = \"0.0.0.0:8125\" }\n", []string{"host.hcl:1,22: Not a loopback address"}},
		{"statsd no port", "reporting { statsd = \"127.0.0.1\" }\n", []string{"host.hcl:1,22: Invalid address"}},
		{"statsd expiry zero", "reporting { statsd_expiry = \"0s\" }\n", []string{"host.hcl:1,29: Invalid statsd_expiry"}},
		{"statsd expiry not a duration", "reporting { statsd_expiry = \"hour\" }\n", []string{"host.hcl:1,29: Invalid duration"}},
		{"statsd max names zero", "reporting { statsd_max_names = 0 }\n", []string{"host.hcl:1,32: Invalid statsd_max_names"}},
		{"statsd max names fraction", "reporting { statsd_max_names = 1.5 }\n", []string{"host.hcl:1,32: Invalid statsd_max_names"}},
		{"status not loopback", "status { listen = \"example.com:80\" }\n", []string{"host.hcl:1,19: Not a loopback address"}},
		{"duplicate producer", "producer \"a\" {}\nproducer \"a\" {}\n", []string{"host.hcl:2,1: Duplicate producer"}},
		{"bad producer name", "producer \"a b\" {}\n", []string{"host.hcl:1,1: Invalid producer name"}},
		{"producer timeout", "producer \"a\" { timeout = \"soon\" }\n", []string{"host.hcl:1,26: Invalid duration"}},
		{"wrong type", "nickname = [1]\n", []string{"host.hcl:1,12: Incorrect attribute value type"}},
		{"syntax error", "nickname = \n", []string{"host.hcl:1,12: Invalid expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := loadHostSource(t, tt.src)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// FuzzDecodeHost checks that no host file crashes the decoder, and that a
// file decoded without errors has what the host relies on.
func FuzzDecodeHost(f *testing.F) {
	for _, s := range []string{
		"nickname = \"n\"\nproducer \"a\" {}\n",
		"poll_timeout = \"1s\"\nreporting { statsd = \"127.0.0.1:0\" }\nstatus { listen = \"\" }\n",
		"gatherer { furl = \"" + testFurl + "\" }\n",
		"gatherer {\n  furl_file = \"x\"\n  min_backoff = \"1s\"\n}\n",
		"producer \"a\" { timeout = \"5s\"\n plugin = \"/bin/true\"\n sha256 = \"00\" }\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		p := NewParser()
		file, diags := p.ParseSource(src, filepath.Join(dir, "host.hcl"))
		if diags.HasErrors() {
			return
		}
		h, diags := DecodeHost(file.Body, filepath.Join(dir, "host.hcl"))
		if diags.HasErrors() {
			return
		}
		if h.Nickname == "" || h.Basedir == "" || h.PollTimeout <= 0 || h.Gatherer.MaxBackoff < h.Gatherer.MinBackoff {
			t.Fatalf("decoded %q into %+v", src, h)
		}
		if h.Gatherer.Configured() && len(h.Gatherer.FURL.Hints) == 0 {
			t.Fatalf("gatherer configured without a parsed furl: %q", src)
		}
	})
}
