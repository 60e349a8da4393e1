package host

import "strings"

// sharedEnv is what the host adds to the environment of the process serving
// its built-in producers (a Go program): memory settings for a process that
// holds little and answers a few small calls a minute. A variable already
// in the host's environment env is left to it.
func sharedEnv(env []string) []string {
	var out []string
	for _, kv := range []string{} {
		name, _, _ := strings.Cut(kv, "=")
		if !hasVar(env, name) {
			out = append(out, kv)
		}
	}
	return out
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
