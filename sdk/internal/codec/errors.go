package codec

import "fmt"

func MalformedStats(cn, cv, in, iv, fn, fv int) error {
	return fmt.Errorf("malformed stats: %d/%d counter, %d/%d integer and %d/%d float names/values", cn, cv, in, iv, fn, fv)
}

// DroppedNames is the error of invalid names dropped, naming the first
// three.
func DroppedNames(bad []string) error {
	n := len(bad)
	if n > 3 {
		bad = append(bad[:3], fmt.Sprintf("and %d more", n-3))
	}
	return fmt.Errorf("dropped %d invalid names: %v", n, bad)
}
