package supervisor

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// environOf is the environment process pid was started with.
func environOf(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		t.Fatalf("reading the plugin's environment: %v", err)
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

func TestTuningEnvReachesBuiltinsOnly(t *testing.T) {
	// The test's own GOGC must not hide the daemon's default.
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	tuning := []string{"GOGC=37"}
	o := Options{Env: TuningEnv(os.Environ(), tuning)}
	if !slices.Equal(o.Env, tuning) {
		t.Fatalf("TuningEnv with no GOGC set = %q, want %q", o.Env, tuning)
	}
	builtin, diags := loadBlock(t, `producer "uptime" {}`, o, true)
	if diags.HasErrors() {
		t.Fatalf("loading a built-in: %v", diags)
	}
	if env := environOf(t, builtin.Pid()); !slices.Contains(env, "GOGC=37") {
		t.Errorf("built-in plugin's environment lacks GOGC=37: %q", env)
	}
	third, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" { plugin = %q }`, bins.testplugin), o, true)
	if diags.HasErrors() {
		t.Fatalf("loading a third-party plugin: %v", diags)
	}
	for _, kv := range environOf(t, third.Pid()) {
		if strings.HasPrefix(kv, "GOGC=") {
			t.Errorf("third-party plugin was given %s; its runtime is its own", kv)
		}
	}
}

func TestTuningEnvOperatorWins(t *testing.T) {
	t.Setenv("GOGC", "200")
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	o := Options{Env: TuningEnv(os.Environ(), []string{"GOGC=37", "GOMEMLIMIT=64MiB"})}
	if want := []string{"GOMEMLIMIT=64MiB"}; !slices.Equal(o.Env, want) {
		t.Errorf("TuningEnv with GOGC=200 set = %q, want %q", o.Env, want)
	}
	p, diags := loadBlock(t, `producer "uptime" {}`, o, true)
	if diags.HasErrors() {
		t.Fatalf("loading a built-in: %v", diags)
	}
	env := environOf(t, p.Pid())
	var gogc []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOGC=") {
			gogc = append(gogc, kv)
		}
	}
	if !slices.Equal(gogc, []string{"GOGC=200"}) {
		t.Errorf("plugin's GOGC settings = %q, want the operator's [GOGC=200] alone", gogc)
	}
	if !slices.Contains(env, "GOMEMLIMIT=64MiB") {
		t.Errorf("plugin's environment lacks the default the operator did not set (GOMEMLIMIT=64MiB): %q", env)
	}
}
