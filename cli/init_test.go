package cli_test

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// initAllowance is what one of statsherd's own packages may allocate
// while the binary starts. Every process of the binary runs every
// package's init, the host's built-ins process too, whatever it will run:
// a template parsed at init (the status pages) held 13–72 KB of heap in
// each (docs/footprint.md, "The anonymous floor, fifth stop").
const initAllowance = 8 << 10

// generatedInit are packages whose init is protoc's output, the
// descriptors gRPC needs to run at all.
var generatedInit = map[string]bool{
	"github.com/statsherd/statsherd/internal/wire": true,
	"github.com/statsherd/statsherd/sdk/proto":     true,
}

// TestOwnPackagesInitLight runs the built binary with the runtime's init
// trace and fails if one of statsherd's own packages allocates more than
// initAllowance at start: what a process does not run is made at first
// use, not at init.
func TestOwnPackagesInitLight(t *testing.T) {
	cmd := exec.Command(statsherd, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("statsherd version: %v\n%s", err, out)
	}
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		// init PKG @T ms, C ms clock, B bytes, A allocs
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		pkg := f[1]
		if !strings.HasPrefix(pkg, "github.com/statsherd/statsherd/") {
			continue
		}
		seen++
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("init trace line %q: %v", sc.Text(), err)
		}
		if n > initAllowance && !generatedInit[pkg] {
			t.Errorf("%s allocates %d bytes at init (at most %d): make what it builds at first use", pkg, n, initAllowance)
		}
	}
	if seen < 10 {
		t.Fatalf("only %d of statsherd's packages in the init trace; output:\n%s", seen, out)
	}
}
