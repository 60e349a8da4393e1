package host

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/builtin"
)

// TestSecondHostOnABasedirRefused: a second host on a running host's
// basedir (the same node id) refuses to start, and leaves the running
// host's statsd.addr and status.url alone; once the first has stopped,
// the basedir is free again.
func TestSecondHostOnABasedirRefused(t *testing.T) {
	t.Parallel()
	first := newTestHost(t)
	dir := first.Config().Basedir
	addr := readAddr(t, first, "statsd.addr")
	url := readAddr(t, first, "status.url")

	cfg := *first.Config()
	cfg.Reporting.Socket = "" // the register socket would refuse it too: check the lock alone
	second, diags := New(t.Context(), &cfg, Options{Logger: testLog(t), Builtins: builtin.Plugins()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	err := second.Start(t.Context())
	second.Close(context.WithoutCancel(t.Context()))
	if err == nil || !strings.Contains(err.Error(), "another host is running with basedir") {
		t.Fatalf("second host on %s: Start = %v", dir, err)
	}
	if got := readAddr(t, first, "statsd.addr"); got != addr {
		t.Errorf("statsd.addr is %q after the second host, want the first's %q", got, addr)
	}
	if got := readAddr(t, first, "status.url"); got != url {
		t.Errorf("status.url is %q after the second host, want the first's %q", got, url)
	}

	if err := first.Close(context.WithoutCancel(t.Context())); err != nil {
		t.Fatal(err)
	}
	third, diags := New(t.Context(), &cfg, Options{Logger: testLog(t), Builtins: builtin.Plugins()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	defer third.Close(context.WithoutCancel(t.Context()))
	if err := third.Start(t.Context()); err != nil {
		t.Errorf("after the first host stopped: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, lockFile)); err != nil {
		t.Error(err)
	}
}

// TestSecondHostOnTakenPorts: a host whose status address is taken says
// which setting to change (a taken statsd port does not stop a host:
// TestE2EStatsdPortTaken).
func TestSecondHostOnTakenPorts(t *testing.T) {
	t.Parallel()
	first := newTestHost(t)
	for _, tt := range []struct {
		name, want string
		set        func(cfg *config.Host)
	}{
		{"status", "its own status { listen }", func(cfg *config.Host) {
			cfg.Status.Listen = strings.TrimSuffix(strings.TrimPrefix(readAddr(t, first, "status.url"), "http://"), "/")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := *first.Config()
			cfg.Basedir = t.TempDir()
			cfg.Reporting.Socket = ""
			cfg.Reporting.StatsdListen, cfg.Status.Listen = "127.0.0.1:0", "127.0.0.1:0"
			tt.set(&cfg)
			h, diags := New(t.Context(), &cfg, Options{Logger: testLog(t), Builtins: builtin.Plugins()})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			err := h.Start(t.Context())
			h.Close(context.WithoutCancel(t.Context()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start = %v, want it to say %q", err, tt.want)
			}
		})
	}
}
