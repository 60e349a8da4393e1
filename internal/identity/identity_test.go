package identity

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var idRE = regexp.MustCompile(`^[a-z2-7]{32}$`)

func TestLoadOrCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "base")
	first, err := LoadOrCreate(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	if !idRE.MatchString(first.ID) {
		t.Errorf("ID %q is not 32 lowercase base32 characters", first.ID)
	}
	if fp := first.Fingerprint(); !regexp.MustCompile(`^[a-z2-7]{52}$`).MatchString(fp) {
		t.Errorf("Fingerprint %q is not 52 lowercase base32 characters", fp)
	}
	for _, f := range []string{first.KeyFile, first.CertFile} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	t.Run("reload keeps id and fingerprint", func(t *testing.T) {
		again, err := LoadOrCreate(dir, "node")
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID || again.Fingerprint() != first.Fingerprint() {
			t.Errorf("reload changed identity: %s/%s -> %s/%s", first.ID, first.Fingerprint(), again.ID, again.Fingerprint())
		}
	})
	t.Run("lost certificate is reissued with the same id", func(t *testing.T) {
		if err := os.Remove(first.CertFile); err != nil {
			t.Fatal(err)
		}
		again, err := LoadOrCreate(dir, "node")
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID {
			t.Errorf("id changed: %s -> %s", first.ID, again.ID)
		}
		if IDOf(again.Leaf) != again.ID {
			t.Errorf("IDOf disagrees with ID")
		}
	})
	t.Run("other name is another identity", func(t *testing.T) {
		other, err := LoadOrCreate(dir, "gatherer")
		if err != nil {
			t.Fatal(err)
		}
		if other.ID == first.ID {
			t.Error("two names share an id")
		}
	})
}

func TestLoadOrCreateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"key readable by others", func(t *testing.T, dir string) {
			if _, err := LoadOrCreate(dir, "node"); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(dir, "node.key"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage key", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "node.key"), []byte("not a key"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory is a file", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tt.setup(t, dir)
			if _, err := LoadOrCreate(dir, "node"); err == nil {
				t.Error("LoadOrCreate succeeded, want an error")
			}
		})
	}
}

func TestNewDiffer(t *testing.T) {
	t.Parallel()
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := NewKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromKeyPEM(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := FromKeyPEM(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID {
		t.Error("two new identities share an id")
	}
	if b.ID != c.ID {
		t.Error("same key gives different ids")
	}
	if !idRE.MatchString(a.ID) {
		t.Errorf("ID %q malformed", a.ID)
	}
}

func TestLoadOrCreateConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	ids := make(chan string, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			id, err := LoadOrCreate(dir, "node")
			if err != nil {
				errs <- err
				return
			}
			ids <- id.ID
		}()
	}
	var first string
	for range n {
		select {
		case err := <-errs:
			t.Fatalf("concurrent LoadOrCreate: %v", err)
		case id := <-ids:
			if first == "" {
				first = id
			} else if id != first {
				t.Fatalf("concurrent starts made two identities: %s and %s", first, id)
			}
		}
	}
}
