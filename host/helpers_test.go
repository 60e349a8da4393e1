package host

import (
	"testing"

	"github.com/hashicorp/go-hclog"
)

func nullLog() hclog.Logger { return hclog.NewNullLogger() }

// testLog logs to the test's output.
func testLog(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "host", Output: testWriter{t}, Level: hclog.Debug})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	return len(b), nil
}
