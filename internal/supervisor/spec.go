package supervisor

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Spec says which plugin to run and how.
type Spec struct {
	// Kind is sdk.KindProducer or sdk.KindOutput.
	Kind string
	// Name is the plugin's name: the label of its HCL block.
	Name string
	// Path is the plugin executable; Args are its arguments. See Resolve.
	Path string
	Args []string
	// SHA256, if set, pins the executable: a binary whose sum differs is
	// refused.
	SHA256 []byte
	// Timeout bounds every call when the caller's context has no earlier
	// deadline. Default 10 s.
	Timeout time.Duration
	// StartTimeout bounds the plugin's start-up handshake. Default 10 s.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before restarting a plugin
	// that crashed or hung; it doubles after each failed start. Defaults
	// 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the plugin's own logs, re-logged under its name.
	Logger hclog.Logger
	// Env is added to the plugin's environment.
	Env []string
	// Pool, if set, is the shared process the plugin runs in (a built-in:
	// see NewShared); Path, Args, SHA256, StartTimeout, the backoffs, Env
	// and Stdout are then the pool's. Nil: a process of its own.
	Pool *Pool
	// Stdout receives what the plugin writes to its standard output after
	// the handshake (go-plugin forwards it). An output such as stdout
	// writes there; for any other plugin it is a mistake, so nil means it
	// is logged as a warning.
	Stdout io.Writer
}

func (s *Spec) defaults() {
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.StartTimeout <= 0 {
		s.StartTimeout = 10 * time.Second
	}
	if s.MinBackoff <= 0 {
		s.MinBackoff = time.Second
	}
	if s.MaxBackoff < s.MinBackoff {
		s.MaxBackoff = max(5*time.Minute, s.MinBackoff)
	}
	if s.Logger == nil {
		s.Logger = hclog.NewNullLogger()
	}
}

// Resolve returns the executable and arguments of a plugin: path itself if
// given (a third-party plugin), else the built-in plugin of that kind and
// name, served by the statsherd binary self (`self plugin serve KIND NAME`).
// self "" means this executable. builtins are the plugins self serves: the
// daemon's command hands them down (cli), so this generic runtime never
// imports a concrete plugin.
func Resolve(kind, name, path, self string, builtins sdk.Plugins) (string, []string, error) {
	if path != "" {
		return path, nil, nil
	}
	if !hasBuiltin(builtins, kind, name) {
		return "", nil, fmt.Errorf("there is no built-in %s named %q: give the path of its executable with plugin = \"/path/to/plugin\" (built-in %ss: see 'statsherd plugin describe')", kind, name, kind)
	}
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("finding the statsherd executable: %w", err)
		}
		self = exe
	}
	return self, []string{"plugin", "serve", kind, name}, nil
}

// kindOK reports whether kind is one a Spec may have.
func kindOK(kind string) bool { return kind == sdk.KindProducer || kind == sdk.KindOutput }

// hasBuiltin reports whether p holds the plugin kind/name.
func hasBuiltin(p sdk.Plugins, kind, name string) bool {
	switch kind {
	case sdk.KindProducer:
		_, ok := p.Producers[name]
		return ok
	case sdk.KindOutput:
		_, ok := p.Outputs[name]
		return ok
	}
	return false
}

// builtinNames lists the plugins of kind in p.
func builtinNames(p sdk.Plugins, kind string) []string {
	var out []string
	switch kind {
	case sdk.KindProducer:
		for n := range p.Producers {
			out = append(out, n)
		}
	case sdk.KindOutput:
		for n := range p.Outputs {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
