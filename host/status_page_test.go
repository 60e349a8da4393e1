package host

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// TestHostPage: the host's page shows the statsd listener's figures and
// the polls of the last hour, as HTML and as its JSON twin; status.url's
// own ?t=json stays the answer's JSON.
func TestHostPage(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	c, err := report.Dial(readAddr(t, h, "statsd.addr"))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		c.Count("node.ops", 1)
	}
	c.Close()
	// Polls, as a gatherer's: the page plots them.
	pollUntil(t, h, "counted 10", func(st sdk.Stats) bool { return st.Counters["node.ops"] == 10 })
	h.Poll(t.Context())
	base := readAddr(t, h, "status.url")
	get := func(path string) (string, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b), resp.Header.Get("Content-Type")
	}
	var p StatusPage
	body, _ := get("host?t=json")
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Nickname != "test-node" || len(p.LastHour) < 2 || p.Statsd["lines"] != "10" || p.Register["programs registered"] != "0" {
		t.Errorf("host page %+v", p)
	}
	html, ctype := get("")
	if !strings.HasPrefix(ctype, "text/html") || !strings.Contains(html, "statsd listener") || strings.Count(html, "<svg") < 2 {
		t.Errorf("GET /: %s, no statsd figures or plots:\n%s", ctype, html)
	}
	if body, ctype := get("?t=json"); !strings.HasPrefix(ctype, "application/json") || !strings.Contains(body, `"node.ops": 10`) {
		t.Errorf("GET /?t=json is no longer the answer's JSON: %s\n%s", ctype, body)
	}
}
