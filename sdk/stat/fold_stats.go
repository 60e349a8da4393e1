package stat

// FoldStats returns s with every series that has labels folded into a
// flat name (Fold); s itself when none has. A series whose folded
// name is not a valid name (too long) is dropped; so is one whose folded
// name another series of s already has.
func FoldStats(s Stats) Stats {
	if !hasLabels(s) {
		return s
	}
	out := Stats{Counters: make(map[string]int64, len(s.Counters)), Stats: make(map[string]Value, len(s.Stats))}
	for k, v := range s.Counters {
		if f, ok := fold(k); ok {
			if _, dup := out.Counters[f]; !dup {
				out.Counters[f] = v
			}
		}
	}
	for k, v := range s.Stats {
		if f, ok := fold(k); ok {
			if _, dup := out.Stats[f]; !dup {
				out.Stats[f] = v
			}
		}
	}
	return out
}

func fold(k string) (string, bool) {
	if !HasLabels(k) {
		return k, true
	}
	f := Fold(k)
	return f, ValidName(f) == nil
}

func hasLabels(s Stats) bool {
	for k := range s.Counters {
		if HasLabels(k) {
			return true
		}
	}
	for k := range s.Stats {
		if HasLabels(k) {
			return true
		}
	}
	return false
}
