package loadgen

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

var bins struct{ statsherd, loadgen string }

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m,
		testbin.Target{Path: &bins.statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"},
		testbin.Target{Path: &bins.loadgen, Pkg: "github.com/statsherd/statsherd/cmd/statsherd-loadgen"},
	))
}

// TestLoadgen runs the load tool as three processes against a real
// gatherer with three output plugins, and reads its table: every round
// has every host's answer, the memory of the gatherer and of each plugin,
// and a scrape of the prometheus output.
func TestLoadgen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	profiles := t.TempDir()
	cmd := exec.CommandContext(ctx, bins.loadgen, "-n", "30", "-k", "10", "-rounds", "2", "-interval", "1s",
		"-procs", "3", "-keys", t.TempDir(), "-output", "munin,prometheus,stdout", "-heap-profiles", profiles)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("statsherd-loadgen: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	out := stdout.String()
	if !strings.Contains(out, "hosts: 30 connected") || !strings.Contains(out, "(3 processes)") {
		t.Errorf("no line of 30 hosts in 3 processes:\n%s", out)
	}
	if n := strings.Count(stderr.String(), "joined: hosts"); n != 2 {
		t.Errorf("%d joined processes, want 2; stderr:\n%s", n, &stderr)
	}
	var header []string
	rows := 0
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "round":
			header = f
		case header != nil && len(f) > 0 && f[0] != "(round":
			rows++
			col := func(name string) float64 {
				t.Helper()
				for i, h := range header {
					if h == name && i < len(f) {
						v, err := strconv.ParseFloat(f[i], 64)
						if err != nil {
							t.Fatalf("column %s: %v in %q", name, err, line)
						}
						return v
					}
				}
				t.Fatalf("no column %s in %q", name, line)
				return 0
			}
			if col("answers") != 30 {
				t.Errorf("answers %v, want 30: %q", col("answers"), line)
			}
			g, p, all := col("gatherer_MiB"), col("plugins_MiB"), col("all_MiB")
			if g <= 0 || p <= 0 || all < g+p-0.2 || all > g+p+0.2 {
				t.Errorf("gatherer %v + plugins %v MiB is not all %v MiB: %q", g, p, all, line)
			}
			if pk := col("all_peak_MiB"); pk < all-0.2 {
				t.Errorf("the peaks sum to %v MiB, under all %v MiB: %q", pk, all, line)
			}
			if g > col("(peak_MiB)")+0.2 {
				t.Errorf("the gatherer's RSS %v MiB is over its peak: %q", g, line)
			}
			if col("total_s") < col("poll_s") || col("write_s") < 0 {
				t.Errorf("poll, write and total times disagree: %q", line)
			}
			// A failed scrape prints "error", not a number.
			if col("scrape_MiB") < 0 || col("scrape_s") < 0 {
				t.Errorf("no scrape: %q", line)
			}
			for _, name := range []string{"munin=", "prometheus=", "stdout="} {
				if !strings.Contains(line, name) {
					t.Errorf("no RSS of the %s plugin: %q", strings.TrimSuffix(name, "="), line)
				}
			}
		}
	}
	if rows != 2 {
		t.Errorf("%d rounds measured, want 2:\n%s", rows, out)
	}
	// The first complete round (connections, start-up) is not measured.
	if !strings.Contains(out, "not measured: settling, 1 of 1)") {
		t.Errorf("no complete round left out before the measured ones:\n%s", out)
	}
	// A heap profile per measured round, gzipped protobuf as pprof reads.
	files, _ := filepath.Glob(filepath.Join(profiles, "heap-round*.pb.gz"))
	if len(files) != 2 {
		t.Errorf("heap profiles %v, want 2", files)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzipped profile (%d bytes, %v)", f, len(b), err)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"procs above hosts", []string{"-n", "2", "-procs", "3"}, "-procs 3"},
		{"join without furl", []string{"-join"}, "-join needs -furl"},
		{"eof without join", []string{"-until-stdin-eof"}, "goes with -join"},
		{"unknown output", []string{"-output", "munin,graphite", "-n", "1"}, "want munin, prometheus, stdout or none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"-statsherd", bins.statsherd}, tt.args...)
			code := run(context.Background(), args, &bytes.Buffer{}, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want non-zero and %q", code, stderr.String(), tt.want)
			}
		})
	}
}

// TestFetchStatusLeavesFleetOut: the load tool reads the gatherer's
// figures without the host list or the fleet view, whose walk over every
// node would land in the rounds it measures.
func TestFetchStatusLeavesFleetOut(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Write([]byte(`{"hosts_connected": 7, "last_round": {"seq": 3}}`))
	}))
	defer srv.Close()
	st, err := fetchStatus(t.Context(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if st.HostsConnected != 7 || st.LastRound.Seq != 3 {
		t.Errorf("status %+v", st)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("t") != "json" || q.Get("hosts") != "0" || q.Get("fleet") != "0" {
		t.Errorf("status read with ?%s, want t=json, hosts=0 and fleet=0", query)
	}
}
