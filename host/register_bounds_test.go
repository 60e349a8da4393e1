package host

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// hello registers name on the socket by hand and returns the connection
// and the host's welcome.
func hello(t *testing.T, sock, line string) (net.Conn, *bufio.Reader, report.Welcome) {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go io.WriteString(conn, line)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	b, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	var w report.Welcome
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Time{})
	return conn, br, w
}

func TestRegisterHelloBounded(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	sock := h.Config().Reporting.Socket
	// A hello of 1 MiB, without a newline: refused once it passes 64 KiB.
	_, _, w := hello(t, sock, `{"register":"`+strings.Repeat("a", 1<<20))
	if w.OK || !strings.Contains(w.Error, "longer than 65536 bytes") {
		t.Errorf("welcome %+v, want a refusal of the long hello", w)
	}
	// A hello just under the bound is read (and refused for its name).
	_, _, w = hello(t, sock, `{"register":"`+strings.Repeat("a", 60<<10)+`","protocol":1}`+"\n")
	if w.OK || !strings.Contains(w.Error, "name") {
		t.Errorf("welcome %+v, want a refusal of the name", w)
	}
}

func TestRegisterCap(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	sock := h.Config().Reporting.Socket
	for i := range maxRegistered {
		if _, _, w := hello(t, sock, fmt.Sprintf(`{"register":"p%d","protocol":1}`+"\n", i)); !w.OK {
			t.Fatalf("registration %d refused: %s", i, w.Error)
		}
	}
	_, _, w := hello(t, sock, `{"register":"one.more","protocol":1}`+"\n")
	if w.OK || !strings.Contains(w.Error, fmt.Sprint(maxRegistered)) {
		t.Errorf("welcome %+v, want a refusal at the cap", w)
	}
}

// A registered program that misses its polls shows up = 0 until it
// answers again.
func TestRegisteredMissingPollsIsDown(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	h.mu.Lock()
	h.cfg.PollTimeout = 300 * time.Millisecond
	h.mu.Unlock()
	conn, br, w := hello(t, h.Config().Reporting.Socket, `{"register":"app","protocol":1}`+"\n")
	if !w.OK {
		t.Fatal(w.Error)
	}
	answer := make(chan bool, 1)
	answer <- true
	go func() {
		for {
			b, err := br.ReadBytes('\n')
			if err != nil {
				return
			}
			var req report.CollectRequest
			if json.Unmarshal(b, &req) != nil {
				return
			}
			select {
			case ok := <-answer:
				answer <- ok
				if !ok {
					continue
				}
			}
			resp, _ := json.Marshal(report.CollectResponse{ID: req.ID, Stats: sdk.Stats{Counters: map[string]int64{"app.n": 1}}})
			conn.Write(append(resp, '\n'))
		}
	}()
	up := func(st sdk.Stats) sdk.Value { return st.Stats["statsherd.producer.app.up"] }
	pollUntil(t, h, "the program answers", func(st sdk.Stats) bool { return st.Counters["app.n"] == 1 && up(st) == sdk.Int(1) })
	<-answer
	answer <- false
	pollUntil(t, h, "the silent program shown down", func(st sdk.Stats) bool { return up(st) == sdk.Int(0) })
	<-answer
	answer <- true
	pollUntil(t, h, "the program up again", func(st sdk.Stats) bool { return st.Counters["app.n"] == 1 && up(st) == sdk.Int(1) })
}
