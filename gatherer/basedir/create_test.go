package basedir

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/config"
)

// TestCreateTemplateDefaults: every commented setting of the gatherer.hcl
// that create-gatherer writes, uncommented, loads, and says the default
// (the example furl hints aside); every block of gatherer.hcl is shown.
func TestCreateTemplateDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	setting := regexp.MustCompile(`(?m)^# (\s*(?:[a-z_]+\s+=|[a-z_]+ (?:"[a-z_]+" )?\{|\}))`)
	src := setting.ReplaceAllString(configTemplate(CreateOptions{}), "$1")
	path := filepath.Join(dir, config.GathererFileName)
	if err := WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := config.LoadGatherer(config.NewParser(), path)
	if diags.HasErrors() {
		t.Fatalf("the template, uncommented, does not load: %v\n%s", diags, src)
	}
	for _, block := range []string{"listen {", "status {", "limits {", "enrolment {", `output "munin"`, `output "stdout"`, `output "prometheus"`, `output "remote_write"`, `output "graphite"`, `output "influxdb"`} {
		if !strings.Contains(src, "\n"+block) {
			t.Errorf("the template does not show %s", block)
		}
	}
	want := config.DefaultGatherer(dir)
	cfg.Listen.Location = nil
	got, wantCmp := *cfg, *want
	got.Filename, got.Outputs, wantCmp.Outputs = "", nil, nil
	if !reflect.DeepEqual(got, wantCmp) {
		t.Errorf("the template's commented values are not the defaults:\n got %+v\nwant %+v", got, wantCmp)
	}
}

// TestCreateBadLocationMakesNothing: a bad -location is refused before
// anything is made, so no half-made base directory is left behind.
func TestCreateBadLocationMakesNothing(t *testing.T) {
	t.Parallel()
	for _, loc := range []string{"a b", "x:99999", ""} {
		dir := filepath.Join(t.TempDir(), "g")
		_, err := Create(dir, CreateOptions{Location: []string{loc}})
		if err == nil || !strings.Contains(err.Error(), "making the furl") {
			t.Errorf("location %q: Create = %v", loc, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("location %q: %s was made", loc, dir)
		}
	}
}

// TestCreateTakenPortMakesNothing: a -port that is in use is refused
// before the directory is made.
func TestCreateTakenPortMakesNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := filepath.Join(t.TempDir(), "g")
	_, err = Create(dir, CreateOptions{Port: port})
	if err == nil || !strings.Contains(err.Error(), "cannot be used") {
		t.Errorf("Create on a taken port = %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s was made", dir)
	}
}
