package munin

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnreadable(t *testing.T) {
	t.Parallel()
	// t.TempDir makes two levels of 0700 directories: open them, as /var/lib is.
	root := t.TempDir()
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		dirMode fs.FileMode
		mode    fs.FileMode
		want    string // "" when munin can read it
	}{
		{"the default layout", 0o755, 0o644, ""},
		{"a basedir made 0700", 0o700, 0o644, "keeps others out: run chmod o+x "},
		{"a snapshot only its owner reads", 0o755, 0o600, `its mode 0600 lets only its owner read it: set mode = "0644"`},
		{"group permissions", 0o750, 0o640, ""},
		{"searchable, not listable", 0o711, 0o644, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(root, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			got := unreadable(filepath.Join(dir, "stats.json"), tt.mode)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("unreadable = %q, want %q", got, tt.want)
			}
			if tt.want != "" && strings.Contains(tt.want, "chmod o+x") && !strings.Contains(got, dir) {
				t.Errorf("unreadable = %q does not name %s", got, dir)
			}
		})
	}
}
