package influxdb_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/outputs/internal/fleettest"
)

// influxd is Debian's InfluxDB 1.6.7, run in the foreground with a
// configuration and data of its own, on free loopback ports.
type influxd struct {
	t    testing.TB
	bin  string
	conf string
	port int
	proc *fleettest.Proc
}

func startInflux(t testing.TB) *influxd {
	t.Helper()
	s := &influxd{t: t, bin: testenv.LookPath(t, "influxd", "influxdb")}
	dir := t.TempDir()
	s.port = fleettest.FreePort(t)
	s.conf = filepath.Join(dir, "influxdb.conf")
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%[3]d"
[meta]
  dir = "%[1]s/meta"
[data]
  dir = "%[1]s/data"
  wal-dir = "%[1]s/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:%[2]d"
  log-enabled = false
`, dir, s.port, fleettest.FreePort(t))
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s.start()
	return s
}

func (s *influxd) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.port) }

func (s *influxd) start() {
	s.t.Helper()
	s.proc = fleettest.Start(s.t, s.bin, "run", "-config", s.conf)
	fleettest.WaitFor(s.t, "influxd answering", s.log, func() bool {
		resp, err := http.Get(s.URL() + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	})
}

func (s *influxd) stop() { s.proc.Stop(syscall.SIGTERM) }

func (s *influxd) log() string { return s.proc.Stderr.String() }

// result is one series of an InfluxQL answer.
type result struct {
	Name    string
	Tags    map[string]string
	Columns []string
	Values  [][]any
}

// query runs InfluxQL statements against db (times in milliseconds) and
// returns the series of the first statement.
func (s *influxd) query(db, q string) ([]result, error) {
	resp, err := http.PostForm(s.URL()+"/query?epoch=ms&db="+url.QueryEscape(db), url.Values{"q": {q}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []result
			Error  string
		}
		Error string
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s: %s", q, out.Error)
	}
	if len(out.Results) == 0 {
		return nil, nil
	}
	if out.Results[0].Error != "" {
		return nil, fmt.Errorf("%s: %s", q, out.Results[0].Error)
	}
	return out.Results[0].Series, nil
}

// mustQuery is query, failing the test on an error.
func (s *influxd) mustQuery(db, q string) []result {
	s.t.Helper()
	r, err := s.query(db, q)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// points returns field of measurement m, grouped by the tag by, as
// points in time order.
func (s *influxd) points(db, m, field, by string) map[string][]fleettest.Point {
	s.t.Helper()
	out := map[string][]fleettest.Point{}
	for _, r := range s.mustQuery(db, fmt.Sprintf(`SELECT %q FROM %q GROUP BY %q`, field, m, by)) {
		for _, v := range r.Values {
			ms, _ := v[0].(json.Number).Int64()
			f, _ := v[1].(json.Number).Float64()
			out[r.Tags[by]] = append(out[r.Tags[by]], fleettest.Point{MS: ms, Value: f})
		}
	}
	return out
}
