// Package testbin builds statsherd's binaries from the working tree for
// end-to-end tests, never using one found on $PATH or installed.
package testbin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Stamp is a random nonce compiled into every binary Build makes, so a test
// can prove a binary came from this build (statsherd version prints it).
var Stamp = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// Build compiles the main package pkg (an import path such as
// "github.com/statsherd/statsherd/cmd/statsherd", or a directory) into dir
// and returns the binary's absolute path.
func Build(dir, pkg string) (string, error) {
	name := filepath.Base(pkg)
	out, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", "-X github.com/statsherd/statsherd/internal/version.buildStamp="+Stamp, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// ModuleRoot is the directory holding statsherd's go.mod.
func ModuleRoot() (string, error) {
	b, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(b))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the statsherd module")
	}
	return filepath.Dir(mod), nil
}
