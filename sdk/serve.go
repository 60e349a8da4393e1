package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk/internal/plugintls"
)

// Plugins is the set of producers and outputs one binary serves, by name.
// Each constructor must be free of side effects: it is also called to
// describe the plugin.
type Plugins struct {
	Producers map[string]func(hclog.Logger) Producer
	Outputs   map[string]func(hclog.Logger) Output
}

// Serve is the main function of a plugin binary. Run with the single
// argument "describe", it prints the description of every plugin it serves
// as JSON and returns. Started by a statsherd daemon, it serves the plugin
// the daemon selected (EnvSelect) until the daemon stops it. Serve exits the
// process with status 1 on error.
func Serve(p Plugins) {
	if len(os.Args) == 2 && os.Args[1] == "describe" {
		if err := Describe(context.Background(), p, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	kind, name, _ := strings.Cut(os.Getenv(EnvSelect), "/")
	if err := ServeOne(p, kind, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// ServeOne serves the plugin of the given kind and name over go-plugin until
// the daemon stops it. If p serves exactly one plugin of that kind, a
// different name selects it anyway, so one plugin can be used under several
// block labels.
func ServeOne(p Plugins, kind, name string) error {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		return fmt.Errorf("this is a statsherd plugin: it is started by the statsherd host or gatherer, not by hand (run it with the argument \"describe\" to see what it serves)")
	}
	log := pluginLogger(name)
	var prod Producer
	var out Output
	switch kind {
	case KindProducer:
		f, err := pick(p.Producers, kind, name)
		if err != nil {
			return err
		}
		prod = f(log)
	case KindOutput:
		f, err := pick(p.Outputs, kind, name)
		if err != nil {
			return err
		}
		out = f(log)
	default:
		return fmt.Errorf("%s=%q: want producer/NAME or output/NAME", EnvSelect, kind+"/"+name)
	}
	serve(pluginSets(prod, out), kind, log)
	return nil
}

// pluginLogger is a plugin process's logger: hclog JSON on stderr, which
// the daemon re-logs, at the level the daemon asks for.
func pluginLogger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Output:     os.Stderr,
		JSONFormat: true,
		Level:      hclog.LevelFromString(os.Getenv(EnvLogLevel)),
	})
}

// serve runs go-plugin's server for sets, plugins of kind, until the
// daemon stops it.
func serve(sets map[int]plugin.PluginSet, kind string, log hclog.Logger) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: sets,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpcServerOptionsFor(kind)...)...)
		},
		// The key the daemon made for this process, on P-256; without
		// one (an older daemon), go-plugin's AutoMTLS (plugintls).
		TLSProvider: plugintls.ForPlugin,
		Logger:      log,
	})
}

func pick[T any](m map[string]T, kind, name string) (T, error) {
	if f, ok := m[name]; ok {
		return f, nil
	}
	if len(m) == 1 {
		for _, f := range m {
			return f, nil
		}
	}
	var zero T
	if len(m) == 0 {
		return zero, fmt.Errorf("this plugin serves no %s", kind)
	}
	return zero, fmt.Errorf("this plugin serves no %s named %q; it serves %s: %s", kind, name, kind+"s", strings.Join(names(m), ", "))
}

func names[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Description is what `describe` prints: every plugin a binary serves.
type Description struct {
	Producers []Info `json:"producers"`
	Outputs   []Info `json:"outputs"`
}

// Describe writes the JSON description of every plugin in p to w.
func Describe(ctx context.Context, p Plugins, w io.Writer) error {
	d, err := Describes(ctx, p)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Describes collects the description of every plugin in p.
func Describes(ctx context.Context, p Plugins) (Description, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	log := hclog.NewNullLogger()
	d := Description{Producers: []Info{}, Outputs: []Info{}}
	for _, n := range names(p.Producers) {
		in, err := p.Producers[n](log).Describe(ctx)
		if err != nil {
			return d, fmt.Errorf("describing producer %s: %w", n, err)
		}
		d.Producers = append(d.Producers, in)
	}
	for _, n := range names(p.Outputs) {
		in, err := p.Outputs[n](log).Describe(ctx)
		if err != nil {
			return d, fmt.Errorf("describing output %s: %w", n, err)
		}
		d.Outputs = append(d.Outputs, in)
	}
	return d, nil
}
