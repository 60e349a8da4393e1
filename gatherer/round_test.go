package gatherer

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/gatherer/poll"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/wire"
)

// TestRoundManyHosts: one round of 200 hosts, of which most answer, some
// never answer, some close their connection once polled, and one answers
// after the poll timeout, records exactly one result per host (one poll
// counted, with the right outcome), puts exactly the answering hosts in
// the round, and runs with a bounded number of goroutines: the round's
// own goroutines (the collector and the senders of polls, counted from
// their stacks) stay at most the senders' pool and far below the number
// of hosts, while 80 hosts keep it waiting. Both ways of reading
// connections are run: the idle watcher and a reader goroutine per host.
func TestRoundManyHosts(t *testing.T) {
	t.Parallel()
	const n = 200
	for _, mode := range readerModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.PollInterval, cfg.PollTimeout = time.Hour, 3*time.Second
			cfg.StatusListen = ""
			out := newOutput("o")
			logs := &testbin.Buffer{}
			g, err := Open(cfg, []Output{out}, hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info}))
			if err != nil {
				t.Fatal(err)
			}
			g.readerPerHost = mode.readerPerHost
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { g.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })

			const (
				answers = iota
				silent
				closes
				late
			)
			kindOf := func(i int) int {
				switch {
				case i == n-1:
					return late
				case i%10 < 6:
					return answers
				case i%10 < 8:
					return silent
				}
				return closes
			}
			kinds := map[string]int{}
			want := map[int]int{}
			var peers sync.WaitGroup
			t.Cleanup(peers.Wait)
			for i := range n {
				id, err := identity.New()
				if err != nil {
					t.Fatal(err)
				}
				tc, err := tls.Dial("tcp", g.Addr().String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{id.Cert}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tc.Close() })
				c := wire.NewConn(tc, 0)
				if err := c.Send(wire.NewHello(g.secret, fmt.Sprintf("host-%03d", i), nil)); err != nil {
					t.Fatal(err)
				}
				if m, err := c.Recv(); err != nil || m.GetWelcome() == nil {
					t.Fatalf("host %d: got %v, %v; want welcome", i, m, err)
				}
				kind := kindOf(i)
				kinds[id.ID] = kind
				want[kind]++
				if kind == silent {
					continue // reads nothing, answers nothing
				}
				peers.Add(1)
				go func() {
					defer peers.Done()
					m, err := c.Recv()
					if err != nil {
						return
					}
					switch kind {
					case answers:
						c.NetConn().Write(wire.AppendAnswerFrame(nil, m.GetPoll().GetId(), nil))
					case closes:
						tc.Close()
					case late:
						time.Sleep(cfg.PollTimeout + 500*time.Millisecond)
						c.NetConn().Write(wire.AppendAnswerFrame(nil, m.GetPoll().GetId(), nil))
					}
				}()
			}
			waitFor(t, "every host connected", func() bool { return len(g.hosts.Connected()) == n })
			hosts := g.hosts.Connected()

			// The round's goroutines, sampled from their stacks while it
			// runs: this goroutine (the collector) and those it starts,
			// except those closing a failed host's connection (one each,
			// on the failure path only). Other tests' rounds are not
			// counted.
			var me []byte
			{
				buf := make([]byte, 64)
				me, _, _ = bytes.Cut(buf[:runtime.Stack(buf, false)], []byte(" ["))
			}
			createdByRound := fmt.Appendf(nil, "poll.(*Hosts).Poll in %s\n", me)
			roundGoroutines := func(buf []byte) int {
				k := 0
				for _, st := range bytes.Split(buf[:runtime.Stack(buf, true)], []byte("\n\n")) {
					if !bytes.HasPrefix(st, append(me, ' ')) && !bytes.Contains(st, createdByRound) {
						continue
					}
					if bytes.Contains(st, []byte("poll.(*Host).close(")) || bytes.Contains(st, []byte("poll.(*Host).refuse(")) {
						continue
					}
					k++
				}
				return k
			}
			stop, sampled := make(chan struct{}), make(chan [2]int)
			go func() {
				buf := make([]byte, 8<<20)
				most, samples := 0, 0
				for {
					select {
					case <-stop:
						sampled <- [2]int{most, samples}
						return
					case <-time.After(10 * time.Millisecond):
					}
					most = max(most, roundGoroutines(buf))
					samples++
				}
			}()
			g.round(ctx)
			close(stop)
			s := <-sampled
			r := <-out.got

			t.Logf("%d hosts: at most %d goroutines of the round in %d samples (pool of %d senders)", n, s[0], s[1], poll.Senders(n))
			if s[1] == 0 {
				t.Fatal("the round's goroutines were never sampled")
			}
			if s[0] > poll.Senders(n)+1 || s[0] >= n/4 {
				t.Errorf("%d goroutines of the round at once for %d hosts; want at most the collector and %d senders", s[0], n, poll.Senders(n))
			}
			got := map[string]int{}
			for _, nd := range r.Nodes[:len(r.Nodes)-1] { // the last is the gatherer's own
				got[nd.ID]++
			}
			for _, h := range hosts {
				st := h.Status()
				kind := kinds[st.ID]
				if st.Polls != 1 {
					t.Errorf("%s (kind %d): %d poll results recorded, want 1", st.Nickname, kind, st.Polls)
				}
				wantIn := 0
				switch kind {
				case answers:
					wantIn = 1
					if st.LastError != "" || st.LastAnswer.IsZero() {
						t.Errorf("%s answered: last error %q, last answer %v", st.Nickname, st.LastError, st.LastAnswer)
					}
				case silent, late:
					if !strings.Contains(st.LastError, "no answer within") {
						t.Errorf("%s never answered in time: last error %q, want a timeout", st.Nickname, st.LastError)
					}
				case closes:
					if !strings.Contains(st.LastError, "connection closed") {
						t.Errorf("%s closed its connection: last error %q, want connection closed", st.Nickname, st.LastError)
					}
				}
				if got[st.ID] != wantIn {
					t.Errorf("%s (kind %d) is %d times in the round, want %d", st.Nickname, kind, got[st.ID], wantIn)
				}
			}
			rs := g.rounds.status()
			if rs.Answers != want[answers] || rs.Failures != n-want[answers] {
				t.Errorf("round: %d answers, %d failures; want %d and %d", rs.Answers, rs.Failures, want[answers], n-want[answers])
			}
			// Every failed host is dropped; the late answer changes
			// nothing.
			waitFor(t, "the failed hosts dropped", func() bool { return len(g.hosts.Connected()) == want[answers] })
			if f := g.stats.pollFailures.Load(); f != int64(n-want[answers]) {
				t.Errorf("%d poll failures counted, want %d", f, n-want[answers])
			}
		})
	}
}
