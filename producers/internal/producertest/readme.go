package producertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/sdk"
)

// CheckREADME fails the test unless the producer's README documents every
// stat it describes and every attribute of its schema, the latter written
// as "`name` (type, ...", so that the README cannot fall behind the code.
func CheckREADME(t testing.TB, file string, p sdk.Producer) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	readme := string(b)
	info, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(readme, "# "+info.Name+"\n") {
		t.Errorf("%s does not open with the title %q", file, "# "+info.Name)
	}
	for _, s := range info.Stats {
		if !strings.Contains(readme, "`"+s.Name+"` | "+string(s.Kind)+" |") {
			t.Errorf("%s has no table row for %s (%s)", file, s.Name, s.Kind)
		}
	}
	for _, a := range info.Config {
		want := fmt.Sprintf("`%s` (%s, ", a.Name, a.Type)
		if !strings.Contains(readme, want) {
			t.Errorf("%s does not document attribute %s as %q", file, a.Name, want)
		}
	}
}
