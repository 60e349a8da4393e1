package promname

import "testing"

func TestMetric(t *testing.T) {
	tests := []struct{ prefix, name, want string }{
		{"statsherd", "load_monitor.avg_load", "statsherd_load_monitor_avg_load"},
		{"", "9lives.x-y", "_9lives_x_y"},
	}
	for _, tt := range tests {
		if got := Metric(tt.prefix, tt.name); got != tt.want {
			t.Errorf("Metric(%q, %q) = %q, want %q", tt.prefix, tt.name, got, tt.want)
		}
	}
	if got := Counter("statsherd", "storage_server.allocate"); got != "statsherd_storage_server_allocate_total" {
		t.Errorf("Counter = %q", got)
	}
}

func TestValidLabel(t *testing.T) {
	for s, want := range map[string]bool{"gatherer": true, "a_1": true, "": false, "1a": false, "__name__": false, "a-b": false} {
		if got := ValidLabel(s); got != want {
			t.Errorf("ValidLabel(%q) = %v, want %v", s, got, want)
		}
	}
}
