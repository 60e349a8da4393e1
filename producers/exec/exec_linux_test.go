package exec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/reaper"
)

// The tests run the producer as the process serving it would: with the
// process's reaper started (cli's `plugin serve`).
func TestMain(m *testing.M) {
	ctx, cancel := context.WithCancel(context.Background())
	sweep := reaper.Start(ctx, nil)
	code := m.Run()
	cancel()
	sweep()
	os.Exit(code)
}

// processesWith lists the live processes whose command line contains s.
func processesWith(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue // a zombie has exited
		}
		if err == nil && bytes.Contains(cmd, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

// TestNothingOutlivesTheCall: whatever the command leaves running (in the
// background, in a new session, after a double fork) is gone when Collect
// returns.
func TestNothingOutlivesTheCall(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"background", "sleep 3602 MARK >/dev/null 2>&1 & echo exec.val 1"},
		{"new session", "setsid sleep 3602 MARK >/dev/null 2>&1 & echo exec.val 1"},
		{"double fork in a new session", `(setsid sh -c "sleep 3602 MARK & sleep 3602 MARK" >/dev/null 2>&1 &); echo exec.val 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := make([]byte, 6)
			rand.Read(b)
			// The mark is in the command line of a shell that waits for
			// the sleep, so the test finds what the command left.
			mark := "mark" + hex.EncodeToString(b)
			script := bytes.ReplaceAll([]byte(tc.script), []byte("sleep 3602 MARK"), []byte("sh -c 'sleep 3602; : "+mark+"'"))
			p := newProducer(t, map[string]any{"command": []string{"/bin/sh", "-c", string(script)}, "command_timeout": 5 * time.Second})
			for range 3 {
				st, err := p.Collect(context.Background())
				if err != nil || !same(st.Stats["exec.val"], "1") {
					t.Fatalf("Collect = %v, %v", st, err)
				}
			}
			if left := processesWith(mark); len(left) > 0 {
				t.Errorf("processes %v still running after Collect returned", left)
			}
			// What died after being re-parented here is reaped by the
			// next collect at the latest: no zombies pile up.
			if _, err := p.Collect(context.Background()); err != nil {
				t.Fatal(err)
			}
			if z := zombieChildren(); len(z) > 1 {
				t.Errorf("zombie children %v pile up", z)
			}
		})
	}
}

// zombieChildren lists the dead, unreaped children of this process.
func zombieChildren() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, _, _ := reaper.ProcStat(pid); ppid == os.Getpid() && state == 'Z' {
			out = append(out, pid)
		}
	}
	return out
}
