package stat

import (
	"errors"
	"fmt"
)

// MaxNameLen is the longest stat name accepted.
const MaxNameLen = 200

// ValidName reports whether name is a valid counter or stat name:
// non-empty, at most MaxNameLen bytes of [A-Za-z0-9_.-], dot-separated
// parts none of which is empty ("a..b", ".a" and "a." are invalid).
func ValidName(name string) error {
	if name == "" {
		return errors.New("empty stat name")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("stat name %.40q... is longer than %d bytes", name, MaxNameLen)
	}
	prev := byte('.')
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.':
			if prev == '.' {
				return fmt.Errorf("stat name %q has an empty part", name)
			}
		default:
			return fmt.Errorf("stat name %q has %q at byte %d; names are made of [A-Za-z0-9_.-]", name, c, i)
		}
		prev = c
	}
	if prev == '.' {
		return fmt.Errorf("stat name %q ends with a dot", name)
	}
	return nil
}
