package sdk

// Kind says whether a stat is a counter or an instantaneous stat.
type Kind string

const (
	// Counter is a monotonically increasing integer: work done since start.
	Counter Kind = "counter"
	// Stat is an instantaneous value, possibly time-averaged.
	Stat Kind = "stat"
)

// StatInfo documents one counter or stat that a producer emits.
type StatInfo struct {
	Name        string `json:"name"`
	Kind        Kind   `json:"kind"`
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description,omitempty"`
}

// Info is how a plugin describes itself: its name and version, the stats it
// emits (producers), and the attributes its HCL block accepts.
type Info struct {
	Name        string     `json:"name"`
	Version     string     `json:"version,omitempty"`
	Description string     `json:"description,omitempty"`
	Stats       []StatInfo `json:"stats,omitempty"`
	Config      Schema     `json:"config"`
}
