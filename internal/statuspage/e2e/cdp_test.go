package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

// browser is a headless chromium driven over the DevTools protocol on a
// pipe (--remote-debugging-pipe: commands on its fd 3, answers and events
// on its fd 4, each message JSON ended by a NUL byte): no port, no
// WebDriver, nothing but the browser.
type browser struct {
	t       *testing.T
	cmd     *exec.Cmd
	done    chan struct{}
	in      *os.File // to the browser
	stderr  *testbin.Buffer
	session string

	mu      sync.Mutex
	next    int
	waiting map[int]chan cdpMessage
	events  []cdpMessage
	// problems are the console errors, exceptions and error log entries.
	problems []string
	loaded   chan struct{}
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// startBrowser starts chromium with a fresh profile and opens a tab.
func startBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	cmdIn, in, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out, cmdOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, in: in, stderr: &testbin.Buffer{}, done: make(chan struct{}), waiting: map[int]chan cdpMessage{}, loaded: make(chan struct{}, 16)}
	b.cmd = exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--mute-audio", "--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	b.cmd.ExtraFiles = []*os.File{cmdIn, cmdOut} // fd 3 and fd 4
	b.cmd.Stderr = b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	cmdIn.Close()
	cmdOut.Close()
	go func() { b.cmd.Wait(); close(b.done) }()
	t.Cleanup(func() {
		b.in.Close()
		if !testbin.Stop(b.cmd.Process, b.done, os.Interrupt, 10*time.Second) {
			t.Errorf("chromium did not stop")
		}
	})
	go b.read(out)

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	b.session = att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		b.call(b.session, m, nil, nil)
	}
	b.call(b.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1440, "height": 1000, "deviceScaleFactor": 1, "mobile": false}, nil)
	return b
}

// read receives messages until the pipe closes.
func (b *browser) read(r *os.File) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(line[:len(line)-1], &m) != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.waiting[m.ID]; ch != nil {
				delete(b.waiting, m.ID)
				ch <- m
			}
			b.mu.Unlock()
			continue
		}
		b.event(m)
		b.mu.Unlock()
	}
}

// event records what matters of an event (b.mu held).
func (b *browser) event(m cdpMessage) {
	switch m.Method {
	case "Page.loadEventFired":
		select {
		case b.loaded <- struct{}{}:
		default:
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "assert" || p.Type == "warning" {
			var parts []string
			for _, a := range p.Args {
				parts = append(parts, fmt.Sprint(a.Value, a.Description))
			}
			b.problems = append(b.problems, "console."+p.Type+": "+strings.Join(parts, " "))
		}
	case "Runtime.exceptionThrown":
		b.problems = append(b.problems, "exception: "+string(m.Params))
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level, Text, URL string
			} `json:"entry"`
		}
		json.Unmarshal(m.Params, &p)
		if p.Entry.Level == "error" || p.Entry.Level == "warning" {
			b.problems = append(b.problems, "log "+p.Entry.Level+": "+p.Entry.Text+" "+p.Entry.URL)
		}
	}
}

// call sends a command and decodes its result into out.
func (b *browser) call(session, method string, params any, out any) {
	b.t.Helper()
	if err := b.try(session, method, params, out); err != nil {
		b.t.Fatalf("%s: %v\nchromium's stderr:\n%s", method, err, b.stderr.String())
	}
}

func (b *browser) try(session, method string, params any, out any) error {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	buf, _ := json.Marshal(msg)
	if _, err := b.in.Write(append(buf, 0)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case m := <-ch:
		if m.Error != nil {
			return errors.New(m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("chromium exited: %v", b.cmd.ProcessState)
	case <-ctx.Done():
		return fmt.Errorf("no answer in 30 s")
	}
}

// open navigates to url and waits for the page's load event.
func (b *browser) open(url string) {
	b.t.Helper()
	for len(b.loaded) > 0 {
		<-b.loaded
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	b.call(b.session, "Page.navigate", map[string]any{"url": url}, &nav)
	if nav.ErrorText != "" {
		b.t.Fatalf("opening %s: %s", url, nav.ErrorText)
	}
	select {
	case <-b.loaded:
	case <-time.After(30 * time.Second):
		b.t.Fatalf("%s did not load in 30 s", url)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its
// value into out.
func (b *browser) eval(expr string, out any) {
	b.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	b.call(b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	if len(r.ExceptionDetails) > 0 {
		b.t.Fatalf("evaluating %s: %s", expr, r.ExceptionDetails)
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		b.t.Fatalf("evaluating %s: %v (%s)", expr, err, r.Result.Value)
	}
}

// screenshot saves the page as PNG at path: the whole page, or its top
// maxHeight pixels.
func (b *browser) screenshot(path string, maxHeight int) {
	b.t.Helper()
	var height int
	b.eval("Math.ceil(document.documentElement.scrollHeight)", &height)
	var r struct {
		Data string `json:"data"`
	}
	clip := map[string]any{"x": 0, "y": 0, "width": 1440, "height": min(max(height, 200), maxHeight), "scale": 1}
	b.call(b.session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true, "clip": clip}, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// takeProblems returns the console errors and warnings seen so far.
func (b *browser) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}
