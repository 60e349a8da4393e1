package supervisor

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// explainStart turns go-plugin's start errors into what an operator needs.
func explainStart(err error) error {
	msg := err.Error()
	firstLine, _, _ := strings.Cut(msg, "\n")
	switch {
	case strings.HasPrefix(msg, "Unrecognized remote plugin message: "):
		said := strings.TrimPrefix(firstLine, "Unrecognized remote plugin message: ")
		if said == "" {
			return errors.New("it is not a statsherd plugin, or it failed at start: it exited without the plugin handshake")
		}
		return fmt.Errorf("it is not a statsherd plugin: it printed %q instead of the plugin handshake", said)
	case strings.Contains(msg, "plugin exited before we could connect"):
		return errors.New("it is not a statsherd plugin, or it failed at start: it exited before the daemon could connect")
	case strings.Contains(strings.ToLower(msg), "incompatible api version"):
		return fmt.Errorf("it speaks another version of the statsherd plugin protocol than this daemon (%s)", firstLine)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("it did not complete the plugin handshake in time; is it a statsherd plugin? (%w)", err)
	}
	return err
}

// checkSum refuses a binary whose sha256 is not want.
func checkSum(path string, want []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("reading the plugin to check its sha256: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("reading the plugin to check its sha256: %w", err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		return fmt.Errorf("checksum mismatch: %s has sha256 %s, but the config pins %s (update sha256 if the plugin was upgraded on purpose)",
			path, hex.EncodeToString(got), hex.EncodeToString(want))
	}
	return nil
}

// tail keeps the last lines a plugin wrote to stderr, to explain a crash.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	// panic is the "panic: ..." or "fatal error: ..." line of a crash,
	// worth more than the stack trace after it.
	panic string
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(b []byte) (int, error) {
	if t == nil {
		return len(b), nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// go-plugin writes one line per Write, without its newline.
	line := strings.TrimRight(string(b), "\r\n")
	if line == "" {
		return len(b), nil
	}
	if strings.HasPrefix(line, "{") {
		var entry struct {
			Level   string `json:"@level"`
			Message string `json:"@message"`
			Error   string `json:"error"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Message != "" {
			if entry.Level != "error" && entry.Level != "warn" {
				return len(b), nil
			}
			line = entry.Message
			if entry.Error != "" {
				line += ": " + entry.Error
			}
		}
	}
	if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
		t.panic = line
	}
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return len(b), nil
}

// summary is the last few stderr lines, as a suffix for an error message.
func (t *tail) summary() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.panic != "" {
		return "; it said on stderr: " + t.panic
	}
	if len(t.lines) == 0 {
		return ""
	}
	l := t.lines
	if len(l) > 6 {
		l = l[len(l)-6:]
	}
	return "; its last words on stderr: " + strings.Join(l, " | ")
}

var _ io.Writer = (*tail)(nil)

// stdoutLogger logs what a plugin prints on its stdout after the handshake:
// a plugin must not, so it is a warning.
type stdoutLogger struct{ log hclog.Logger }

func (w stdoutLogger) Write(b []byte) (int, error) {
	w.log.Warn("plugin wrote to stdout", "text", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
