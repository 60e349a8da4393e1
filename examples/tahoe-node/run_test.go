package main

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRun runs the program against a UDP listener standing in for the
// host, and checks it sends every name as well-formed statsd lines.
func TestRun(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	lines := make(chan string, 10000)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				close(lines)
				return
			}
			for _, l := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				lines <- l
			}
		}
	}()
	var stderr strings.Builder
	code := run(context.Background(), []string{"-statsd", pc.LocalAddr().String(), "-interval", "20ms", "-duration", "300ms", "-seed", "5", "-helper-dir", t.TempDir()}, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	time.Sleep(100 * time.Millisecond)
	pc.Close()
	line := regexp.MustCompile(`^([a-z_.]+):(-?[0-9.e+]+)\|(c|g)$`)
	seen := map[string]string{}
	for l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("malformed statsd line %q", l)
			continue
		}
		seen[m[1]] = m[3]
	}
	for _, c := range counterNames {
		if seen[c] != "c" {
			t.Errorf("counter %s: sent as %q", c, seen[c])
		}
	}
	for _, g := range gaugeNames {
		if seen[g] != "g" {
			t.Errorf("gauge %s: sent as %q", g, seen[g])
		}
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
	}{
		{"unknown flag", []string{"-port", "1"}},
		{"extra argument", []string{"now"}},
		{"zero interval", []string{"-interval", "0s"}},
		{"zero speed", []string{"-speed", "0"}},
		{"NaN speed", []string{"-speed", "NaN"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr strings.Builder
			if code := run(context.Background(), tc.args, &stderr); code != 2 {
				t.Errorf("exit %d, want 2 (%s)", code, stderr.String())
			}
		})
	}
}
