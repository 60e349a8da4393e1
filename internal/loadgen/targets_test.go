package loadgen

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTargets runs `statsherd-loadgen targets` as a process: its file_sd
// file names every target, each target's page has its k stats as
// Prometheus text with counters growing at each scrape, a path out of
// range is not found, remote write is accepted, and closing stdin stops it.
func TestTargets(t *testing.T) {
	sd := filepath.Join(t.TempDir(), "targets.json")
	cmd := exec.Command(bins.loadgen, "targets", "-n", "5", "-k", "4", "-sd", sd, "-until-stdin-eof")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v; stderr: %s", err, &stderr)
	}
	addr = strings.TrimSpace(addr)

	b, err := os.ReadFile(sd)
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.Unmarshal(b, &groups); err != nil {
		t.Fatalf("file_sd: %v", err)
	}
	if len(groups) != 5 || groups[3].Targets[0] != addr || groups[3].Labels["__metrics_path__"] != "/metrics/3" || groups[3].Labels["host"] != "loadgen-00003" {
		t.Fatalf("file_sd = %s", b)
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	get("/metrics/3")
	code, page := get("/metrics/3")
	want := "# TYPE loadgen_counter_000 counter\nloadgen_counter_000 2\n" +
		"# TYPE loadgen_stat_001 gauge\nloadgen_stat_001 1\n" +
		"# TYPE loadgen_counter_002 counter\nloadgen_counter_002 6\n" +
		"# TYPE loadgen_stat_003 gauge\nloadgen_stat_003 0.5\n"
	if code != http.StatusOK || page != want {
		t.Errorf("second scrape of /metrics/3: %d\n%s\nwant\n%s", code, page, want)
	}
	if code, _ := get("/metrics/5"); code != http.StatusNotFound {
		t.Errorf("/metrics/5 (of 5 targets): %d, want 404", code)
	}
	resp, err := http.Post("http://"+addr+"/api/v1/write", "application/x-protobuf", strings.NewReader("snappy bytes"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("remote write: %s, want 204", resp.Status)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after stdin closed: %v; stderr: %s", err, &stderr)
	}
	if !strings.Contains(stderr.String(), "targets: 2 scrapes, 1 remote write requests (12 bytes)") {
		t.Errorf("stderr = %q", &stderr)
	}
}
