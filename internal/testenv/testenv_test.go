package testenv

import (
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test ended.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                  {}
func (r *recorder) Fatal(args ...any)        { r.fatal = args[0].(string) }
func (r *recorder) Skip(args ...any)         { r.skip = args[0].(string) }
func (r *recorder) Skipf(f string, a ...any) { r.skip = f }

func TestMissingFailsInCISkipsElsewhere(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			LookPath(r, "no-such-tool-statsherd", "no-such-package")
			got := r.skip
			if ci == "true" {
				got = r.fatal
				if r.skip != "" {
					t.Errorf("skipped under CI: %q", r.skip)
				}
			} else if r.fatal != "" {
				t.Errorf("failed outside CI: %q", r.fatal)
			}
			if !strings.Contains(got, "no-such-tool-statsherd is not installed (apt-get install no-such-package)") {
				t.Errorf("message %q does not say what to install", got)
			}
		})
	}
}

func TestLookPathFinds(t *testing.T) {
	if p := LookPath(t, "sh", "dash"); !strings.HasSuffix(p, "/sh") {
		t.Errorf("LookPath(sh) = %q", p)
	}
}
