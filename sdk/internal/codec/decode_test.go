package codec

import (
	"fmt"
	"testing"
)

// TestInternerForgets: names no longer sent are forgotten once they are
// many, and names in use are kept.
func TestInternerForgets(t *testing.T) {
	var in interner
	for i := range 10000 {
		in.intern(fmt.Appendf(nil, "old.%d", i))
	}
	in.endRound()
	in.intern([]byte("kept"))
	in.endRound()
	if len(in.m) != 1 {
		t.Fatalf("%d names kept, want 1", len(in.m))
	}
	if in.entry([]byte("kept")) == nil {
		t.Fatal("name in use forgotten")
	}
}
