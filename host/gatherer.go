package host

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/sdk"
)

// gathererLink is the running connection to the gatherer, if any.
type gathererLink struct {
	cancel func()
	done   chan struct{}
}

func (l gathererLink) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// gathererStatus says, for people, how the gatherer connection is.
func (h *Host) gathererStatus() string {
	cfg := h.Config()
	if !cfg.Gatherer.Configured() {
		return "none configured; stats are served locally only"
	}
	return "configured"
}

// gathererStats adds the state of the gatherer connection to st.
func (h *Host) gathererStats(st sdk.Stats) {
	cfg := h.Config()
	configured := int64(0)
	if cfg.Gatherer.Configured() {
		configured = 1
	}
	st.Stats["statsherd.gatherer.configured"] = sdk.Int(configured)
}

// checkGatherer checks that cfg's gatherer furl can be read and parsed.
func (h *Host) checkGatherer(cfg *config.Host) hcl.Diagnostics {
	return nil
}

// restartGatherer restarts the gatherer connection with the current
// configuration.
func (h *Host) restartGatherer() {}
