package host

import (
	"slices"
	"strings"
	"testing"
)

func TestSharedEnvLeavesTheOperatorsSettings(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want bool // GOMAXPROCS added
	}{
		{"nothing set", []string{"PATH=/bin"}, true},
		{"set by the operator", []string{"PATH=/bin", "GOMAXPROCS=8"}, false},
		{"a longer name is another variable", []string{"GOMAXPROCS_X=1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sharedEnv(tt.env)
			added := slices.ContainsFunc(got, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
			if added != tt.want {
				t.Errorf("sharedEnv(%q) = %q; GOMAXPROCS added: %v, want %v", tt.env, got, added, tt.want)
			}
		})
	}
}
