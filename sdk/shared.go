package sdk

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// A shared plugin process serves several plugins of one kind, each call
// naming the plugin and the instance it is for in gRPC metadata. The
// daemon's go-plugin client dispenses "KIND/NAME" (sharedPluginSets): every
// Dispense is a fresh instance of plugin NAME in that process, created at
// its first call from the plugin's constructor and forgotten after Close,
// so two instances of one plugin (a reload that changes a block starts the
// new one before it stops the old) never share state.
const (
	mdPlugin   = "statsherd-plugin"
	mdInstance = "statsherd-instance"
)

// sharedKey is the go-plugin plugin-set key that dispenses an instance of
// the plugin name of kind from a shared process.
func sharedKey(kind, name string) string { return kind + "/" + name }

// sharedPluginSets is a daemon's client plugin set for a shared process
// serving the plugins names of kind: sharedKey(kind, name) dispenses an
// instance of plugin name.
func sharedPluginSets(kind string, names []string) map[int]plugin.PluginSet {
	sets := map[int]plugin.PluginSet{}
	for _, v := range []int{protocolFlat, ProtocolVersion} {
		flat := v == protocolFlat
		set := plugin.PluginSet{}
		for _, n := range names {
			switch kind {
			case KindProducer:
				set[sharedKey(kind, n)] = &ProducerPlugin{shared: &sharedClient{name: n}, flat: flat}
			case KindOutput:
				set[sharedKey(kind, n)] = &OutputPlugin{shared: &sharedClient{name: n}, flat: flat}
			}
		}
		sets[v] = set
	}
	return sets
}

// sharedClient numbers the instances a daemon dispenses of one plugin.
type sharedClient struct {
	name string
	next atomic.Uint64
}

// instance returns the outgoing metadata of a freshly dispensed instance.
func (s *sharedClient) instance() metadata.MD {
	if s == nil {
		return nil
	}
	return metadata.Pairs(mdPlugin, s.name, mdInstance, strconv.FormatUint(s.next.Add(1), 10))
}

// withMD adds an instance's metadata to a call's context.
func withMD(ctx context.Context, md metadata.MD) context.Context {
	if md == nil {
		return ctx
	}
	if old, ok := metadata.FromOutgoingContext(ctx); ok {
		md = metadata.Join(old, md) // a dry run's, for one
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// mux is the server side of a shared process: the instances of its plugins
// of one kind, by plugin name and instance.
type mux[T any] struct {
	kind  string
	news  map[string]func(hclog.Logger) T
	log   hclog.Logger
	mu    sync.Mutex
	insts map[string]T
}

func newMux[T any](kind string, news map[string]func(hclog.Logger) T, log hclog.Logger) *mux[T] {
	return &mux[T]{kind: kind, news: news, log: log, insts: map[string]T{}}
}

// get returns the instance a call is for, creating it at its first call.
func (m *mux[T]) get(ctx context.Context) (T, error) {
	var zero T
	md, _ := metadata.FromIncomingContext(ctx)
	name, inst := first(md, mdPlugin), first(md, mdInstance)
	if name == "" || inst == "" {
		return zero, status.Errorf(codes.InvalidArgument, "this process serves several %ss (%s): a call must name one in its %s and %s metadata",
			m.kind, strings.Join(names(m.news), ", "), mdPlugin, mdInstance)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := name + "/" + inst
	if p, ok := m.insts[key]; ok {
		return p, nil
	}
	f, ok := m.news[name]
	if !ok {
		return zero, status.Errorf(codes.NotFound, "this process serves no %s named %q; it serves %s", m.kind, name, strings.Join(names(m.news), ", "))
	}
	p := f(m.log.Named(name).With("plugin", m.kind+"."+name))
	m.insts[key] = p
	return p, nil
}

// forget drops the instance a call is for (after its Close).
func (m *mux[T]) forget(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	m.mu.Lock()
	delete(m.insts, first(md, mdPlugin)+"/"+first(md, mdInstance))
	m.mu.Unlock()
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// ServeShared serves every plugin of kind in p from this one process, over
// go-plugin, until the daemon stops it: each call names its plugin and
// instance (sdk/daemon.SharedPluginSets). It is how the statsherd binary serves its
// built-in producers to the host in one process instead of one each.
func ServeShared(p Plugins, kind string) error {
	if os.Getenv(Handshake.MagicCookieKey) != Handshake.MagicCookieValue {
		return fmt.Errorf("this is a statsherd plugin: it is started by the statsherd host or gatherer, not by hand (run it with the argument \"describe\" to see what it serves)")
	}
	log := pluginLogger(kind + "s")
	sets := map[int]plugin.PluginSet{}
	switch kind {
	case KindProducer:
		if len(p.Producers) == 0 {
			return fmt.Errorf("this plugin serves no %s", kind)
		}
		m := newMux(kind, p.Producers, log)
		sets[protocolFlat] = plugin.PluginSet{kind: &ProducerPlugin{mux: m, flat: true}}
		sets[ProtocolVersion] = plugin.PluginSet{kind: &ProducerPlugin{mux: m}}
	case KindOutput:
		if len(p.Outputs) == 0 {
			return fmt.Errorf("this plugin serves no %s", kind)
		}
		m := newMux(kind, p.Outputs, log)
		sets[protocolFlat] = plugin.PluginSet{kind: &OutputPlugin{mux: m, flat: true}}
		sets[ProtocolVersion] = plugin.PluginSet{kind: &OutputPlugin{mux: m}}
	default:
		return fmt.Errorf("kind %q: want %s or %s", kind, KindProducer, KindOutput)
	}
	serve(sets, kind, log)
	return nil
}
