package statuspage

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8128": true, "127.0.0.1": true, "127.1.2.3:80": true, "[::1]:8128": true, "[::1]": true,
		"localhost:8128": true, "LocalHost": true, "localhost.:1": true, "[::ffff:127.0.0.1]:9": true,
		"": false, "example.org": false, "example.org:8128": false, "10.0.0.1:8128": false,
		"localhost.example.org": false, "127.0.0.1.nip.io:8128": false, "[::2]:1": false, "0.0.0.0:8128": false,
	} {
		if got := LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestHandler: a request under another name (DNS rebinding) is refused,
// with or without the profiles; the profiles are served only when asked.
func TestHandler(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "status") })
	for _, pprofOn := range []bool{false, true} {
		srv := httptest.NewServer(Handler(page, pprofOn))
		get := func(path, host string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if host != "" {
				req.Host = host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get("/", ""); code != http.StatusOK || body != "status" {
			t.Errorf("pprof=%v: the page by its address: %d %q", pprofOn, code, body)
		}
		if code, body := get("/", "localhost:1234"); code != http.StatusOK || body != "status" {
			t.Errorf("pprof=%v: the page as localhost: %d %q", pprofOn, code, body)
		}
		for _, path := range []string{"/", "/debug/pprof/heap?debug=1"} {
			if code, body := get(path, "attacker.example:80"); code != http.StatusMisdirectedRequest || !strings.Contains(body, "loopback") {
				t.Errorf("pprof=%v: %s under another name: %d %q", pprofOn, path, code, body)
			}
		}
		code, body := get("/debug/pprof/heap?debug=1", "")
		if served := code == http.StatusOK && strings.Contains(body, "heap profile"); served != pprofOn {
			t.Errorf("pprof=%v: heap profile served = %v (%d)", pprofOn, served, code)
		}
		srv.Close()
	}
}
