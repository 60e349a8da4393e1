// Package version tells which statsherd this is: the VCS revision when
// built from a checkout, the release version (from the VERSION file
// shipped in the source) otherwise.
package version

import (
	_ "embed"
	"fmt"
	"runtime/debug"
	"strings"
)

//go:embed VERSION
var release string

// buildStamp is set by tests (-ldflags -X) to prove that a binary was built
// from the working tree under test.
var buildStamp string

// Release is the release version, from the VERSION file.
func Release() string { return strings.TrimSpace(release) }

// Revision is the VCS revision the binary was built from ("" if none),
// with "+dirty" when the work tree had changes.
func Revision() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "+dirty"
	}
	return rev
}

// String is the one-line version: "statsherd 0.1.0 (revision 1a2b3c…)" from
// a checkout, "statsherd 0.1.0" from a source archive.
func String() string {
	s := "statsherd " + Release()
	if rev := Revision(); rev != "" {
		s += fmt.Sprintf(" (revision %s)", rev)
	}
	if buildStamp != "" {
		s += " stamp " + buildStamp
	}
	return s
}
