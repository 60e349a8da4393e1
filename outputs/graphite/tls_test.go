package graphite_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// TestTLS: with tls = true the batches go over TLS, verified with
// tls_ca_file; the receiver gets every line; a receiver whose
// certificate does not verify gets nothing and the lines wait.
func TestTLS(t *testing.T) {
	t.Parallel()
	// httptest's certificate (for 127.0.0.1), served on a raw TLS listener.
	hs := httptest.NewTLSServer(nil)
	cert, roots := hs.TLS.Certificates, hs.Certificate()
	hs.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: roots.Raw}), 0o600)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: cert})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var got []string
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					mu.Lock()
					got = append(got, sc.Text())
					mu.Unlock()
				}
			}()
		}
	}()
	at := time.Now().Truncate(time.Second)
	st := sdk.NewStats()
	st.Counters["a.b"] = 7
	round := sdk.Round{Time: at, Nodes: []sdk.NodeSample{{ID: "abcd", Nickname: "web1", Stats: st}}}

	unverified := configure(t, map[string]any{"address": l.Addr().String(), "tls": true})
	if err := unverified.Write(context.Background(), round); err != nil {
		t.Fatal(err)
	}
	o := configure(t, map[string]any{"address": l.Addr().String(), "tls": true, "tls_ca_file": ca})
	if err := o.Write(context.Background(), round); err != nil {
		t.Fatal(err)
	}
	waitSent(t, o, 1)
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if want := fmt.Sprintf("statsherd.web1.a.b 7 %d", at.Unix()); len(got) != 1 || got[0] != want {
		t.Errorf("received %q, want [%q]", got, want)
	}
	rep := unverified.(sdk.StatsReporter)
	for deadline := time.Now().Add(30 * time.Second); rep.Stats().Counters["retries"] == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if st := rep.Stats(); st.Counters["sent_samples"] != 0 || st.Counters["retries"] == 0 {
		t.Errorf("an unverified receiver got lines, or they were not retried: %v", st)
	}
}
