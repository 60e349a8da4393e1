package report

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

type staticProducer struct{ n int64 }

func (p *staticProducer) Describe(context.Context) (sdk.Info, error) { return sdk.Info{}, nil }
func (p *staticProducer) Configure(context.Context, sdk.Config) error {
	return nil
}
func (p *staticProducer) Close(context.Context) error { return nil }
func (p *staticProducer) Collect(context.Context) (sdk.Stats, error) {
	p.n++
	return sdk.Stats{Counters: map[string]int64{"app.n": p.n}}, nil
}

// fakeHost listens on a unix socket and hands each connection to serve.
func fakeHost(t *testing.T, serve func(conn net.Conn, sc *bufio.Scanner)) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				serve(conn, bufio.NewScanner(conn))
			}()
		}
	}()
	return path
}

func TestRegisterProducerReconnects(t *testing.T) {
	t.Parallel()
	got := make(chan CollectResponse, 10)
	hellos := make(chan Hello, 10)
	path := fakeHost(t, func(conn net.Conn, sc *bufio.Scanner) {
		var h Hello
		if !sc.Scan() || json.Unmarshal(sc.Bytes(), &h) != nil {
			return
		}
		hellos <- h
		enc := json.NewEncoder(conn)
		enc.Encode(Welcome{OK: true})
		enc.Encode(CollectRequest{ID: 7, TimeoutMS: 1000})
		var r CollectResponse
		if sc.Scan() && json.Unmarshal(sc.Bytes(), &r) == nil {
			got <- r
		}
		// Then drop the connection: the program must come back.
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- RegisterProducer(ctx, path, "app", &staticProducer{}) }()
	for i := 1; i <= 2; i++ {
		select {
		case h := <-hellos:
			if h.Register != "app" || h.Protocol != ProtocolVersion {
				t.Errorf("hello %+v", h)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d: no hello", i)
		}
		r := <-got
		if r.ID != 7 || r.Stats.Counters["app.n"] != int64(i) {
			t.Errorf("connection %d: response %+v", i, r)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RegisterProducer returned %v", err)
	}
}

func TestRegisterProducerRefused(t *testing.T) {
	t.Parallel()
	path := fakeHost(t, func(conn net.Conn, sc *bufio.Scanner) {
		sc.Scan()
		json.NewEncoder(conn).Encode(Welcome{Error: "name taken"})
	})
	err := RegisterProducer(t.Context(), path, "app", &staticProducer{})
	var refused *RegisteredError
	if !errors.As(err, &refused) || refused.Msg != "name taken" {
		t.Errorf("error %v, want the host's refusal", err)
	}
}

func TestRegisterProducerBadName(t *testing.T) {
	t.Parallel()
	if err := RegisterProducer(t.Context(), "/nonexistent", "a b", &staticProducer{}); err == nil {
		t.Error("no error for an invalid name")
	}
}

func TestRegisterProducerWaitsForTheHost(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "rp")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	// No host listens: it keeps trying until ctx ends.
	err = RegisterProducer(ctx, filepath.Join(dir, "s"), "app", &staticProducer{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the context's", err)
	}
}

type labelledProducer struct{ staticProducer }

func (p *labelledProducer) Collect(context.Context) (sdk.Stats, error) {
	return sdk.Stats{Counters: map[string]int64{sdk.MustSeries("app.requests", sdk.L("status", "500")): 1}}, nil
}

// TestRegisterProducerLabels: a host that welcomes with the labels'
// protocol gets series as they are; a host before labels (its Welcome
// has no protocol) gets them folded into flat names.
func TestRegisterProducerLabels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		protocol int
		want     string
	}{{ProtocolLabels, `app.requests{status="500"}`}, {0, "app.requests.status_500"}} {
		got := make(chan CollectResponse, 1)
		path := fakeHost(t, func(conn net.Conn, sc *bufio.Scanner) {
			var h Hello
			if !sc.Scan() || json.Unmarshal(sc.Bytes(), &h) != nil || h.MaxProtocol != ProtocolLabels {
				t.Errorf("hello %+v", h)
				return
			}
			enc := json.NewEncoder(conn)
			enc.Encode(Welcome{OK: true, Protocol: tc.protocol})
			enc.Encode(CollectRequest{ID: 1, TimeoutMS: 1000})
			var r CollectResponse
			if sc.Scan() && json.Unmarshal(sc.Bytes(), &r) == nil {
				got <- r
			}
		})
		ctx, cancel := context.WithCancel(t.Context())
		go RegisterProducer(ctx, path, "app", &labelledProducer{})
		select {
		case r := <-got:
			if r.Stats.Counters[tc.want] != 1 || len(r.Stats.Counters) != 1 {
				t.Errorf("protocol %d: host got %v, want %s", tc.protocol, r.Stats.Counters, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("protocol %d: no answer", tc.protocol)
		}
		cancel()
	}
}
