package supervisor

import "github.com/statsherd/statsherd/sdk"

// OutputStats returns what an output reports about itself
// (sdk.StatsReporter) as of its last Write; nothing for a plugin that
// reports nothing. It waits for a call in progress, so the caller that
// writes asks right after its Write.
func (p *Plugin) OutputStats() sdk.Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.raw.(sdk.StatsReporter); ok {
		return r.Stats()
	}
	return sdk.Stats{}
}
