package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/testenv"
)

// TestMakeProtoIsUpToDate runs `make proto` into a scratch directory and
// compares what it generates with the committed files: it fails if a
// .proto changed without `make proto`, or if the tools go.mod names no
// longer make the same code.
func TestMakeProtoIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the protoc plugins: skipped with -short")
	}
	testenv.LookPath(t, "protoc", "protobuf-compiler")
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, d := range []string{"sdk/proto", "internal/wire"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk := exec.Command("make", "-s", "proto", "PROTOOUT="+out, "BIN="+filepath.Join(out, "bin"))
	mk.Dir = root
	if b, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make proto: %v\n%s", err, b)
	}
	for _, f := range []string{
		"sdk/proto/plugin.pb.go",
		"sdk/proto/plugin_grpc.pb.go",
		"internal/wire/wire.pb.go",
	} {
		committed, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		made, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Errorf("make proto did not make %s: %v", f, err)
			continue
		}
		if !bytes.Equal(committed, made) {
			t.Errorf("%s differs from what make proto makes: run make proto and commit", f)
		}
	}
}
