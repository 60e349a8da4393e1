package config

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/statsherd/statsherd/sdk"
)

// Defaults of a gatherer file.
const (
	GathererFileName              = "gatherer.hcl"
	DefaultGathererNickname       = "statsherd-gatherer"
	DefaultPollInterval           = 60 * time.Second
	DefaultGathererPollTimeout    = 10 * time.Second
	DefaultOutputTimeout          = 30 * time.Second
	DefaultOutputQueue            = 2
	DefaultHandshakeTimeout       = 10 * time.Second
	DefaultMaxMessageSize         = 4 << 20
	DefaultMaxConnections         = 20000
	DefaultMaxStatsPerNode        = 20000
	DefaultMaxNodes               = 20000
	DefaultForgetAfter            = 7 * 24 * time.Hour
	DefaultForgetNewAfter         = time.Hour
	DefaultMaxStatsTotal          = 10_000_000
	DefaultNewNodeStatsRate       = 5000
	DefaultNewNodeStatsBurst      = 200_000
	DefaultMaxHandshakes          = 256
	DefaultMaxHandshakesPerAddr   = 16
	DefaultEnrolmentPolicy        = "open"
	DefaultAllowlistFile          = "allowlist"
	DefaultPendingExpiry          = 24 * time.Hour
	DefaultMaxPendingPerAddress   = 4
	DefaultGathererStatusListen   = "127.0.0.1:8128"
	DefaultGathererOutput         = "munin"
	maxGathererMaxMessageSize     = 1 << 30
	minGathererHandshakeTimeout   = 10 * time.Millisecond
	minGathererPollInterval       = 100 * time.Millisecond
	maxGathererLocationHints      = 16
	maxGathererConnectionsAllowed = 1 << 20
)

// Gatherer is a decoded gatherer.hcl. Relative paths are resolved against
// the file's directory; Basedir is absolute.
type Gatherer struct {
	// Filename is the file the settings came from ("" for defaults).
	Filename string
	// Basedir holds the TLS key, portnum, stats_gatherer.furl and (by
	// default) the munin snapshot. Default: the file's directory.
	Basedir string
	// Nickname names the gatherer's own node in its outputs.
	Nickname string
	// LogLevel is the hclog level: trace, debug, info, warn, error.
	LogLevel string
	// LogFormat is "text" (hclog's, for people) or "json" (one hclog JSON
	// object a line, for log shippers).
	LogFormat string
	// PollInterval is the time between poll rounds.
	PollInterval time.Duration
	// PollTimeout bounds each host's answer to a poll.
	PollTimeout time.Duration
	// OutputTimeout bounds each output's Write when its block sets no
	// timeout.
	OutputTimeout time.Duration
	// OutputQueue is how many rounds wait for a slow output before they
	// are coalesced into one.
	OutputQueue int
	Listen      GathererListen
	// StatusListen is the loopback address of the HTTP status page; ""
	// turns it off.
	StatusListen string
	// StatusPprof serves Go's runtime profiles on the status page.
	StatusPprof bool
	// Outputs are the output blocks, in file order. Empty means the
	// built-in munin snapshot writer (DefaultOutputs).
	Outputs []PluginBlock
	// Limits bound what peers control.
	Limits GathererLimits
	// Enrolment says which nodes are admitted.
	Enrolment GathererEnrolment
}

// GathererLimits are the gatherer's quotas: every amount a peer controls
// is bounded.
type GathererLimits struct {
	// MaxStatsPerNode bounds the counters and stats of one answer; an
	// answer with more is refused (the node keeps its last good sample).
	MaxStatsPerNode int
	// MaxNodes bounds the nodes known (enrolled or pending); a new node
	// beyond it is refused.
	MaxNodes int
	// ForgetAfter: a node not heard from for this long is forgotten (it
	// leaves the node list and the munin snapshot); 0 keeps nodes forever.
	ForgetAfter time.Duration
	// ForgetNewAfter: a node that was with the fleet less than an hour
	// (one that answered once and vanished) is forgotten once not heard
	// from for this long (at most ForgetAfter).
	ForgetNewAfter time.Duration
	// MaxStatsTotal bounds the stats held for all nodes (each node's
	// last answer counts); a new node is refused while they are at it.
	MaxStatsTotal int
	// NewNodeStatsRate and NewNodeStatsBurst are a token bucket, in
	// stats, for nodes never seen before under the open policy: a new
	// node is admitted while the bucket is not empty, and its first
	// answer takes its stats from it. Enrolled nodes never wait on it.
	NewNodeStatsRate, NewNodeStatsBurst int
	// MaxHandshakes bounds the connections still in their TLS handshake
	// or hello, apart from established hosts.
	MaxHandshakes int
	// MaxHandshakesPerAddress bounds those from one source address (an
	// IPv6 source counts by its /64).
	MaxHandshakesPerAddress int
}

// GathererEnrolment is how new nodes are admitted.
type GathererEnrolment struct {
	// Policy is "open" (anyone with the furl enrols), "approve" (new
	// nodes wait until an operator approves them) or "allowlist" (only
	// the node ids in the Allowlist file).
	Policy string
	// Allowlist is the file of node ids, one a line ('#' comments), for
	// the allowlist policy.
	Allowlist string
	// PendingExpiry: a node waiting for approval this long (since it
	// first asked) is forgotten; it asks again if it still connects.
	PendingExpiry time.Duration
	// MaxPendingPerAddress bounds the nodes waiting for approval from one
	// source address (an IPv6 source counts by its /64).
	MaxPendingPerAddress int
}

// GathererListen are the settings of the gatherer's listener.
type GathererListen struct {
	// Port is the TCP port; 0 means the one saved in basedir/portnum, or
	// a free one that is then saved there.
	Port int
	// Address is the local address to bind; "" means all.
	Address string
	// Location are the location hints written into the furl, "host:port"
	// or "host" (the port added); empty means the machine's addresses and
	// 127.0.0.1.
	Location []string
	// HandshakeTimeout bounds a host's TLS handshake and hello.
	HandshakeTimeout time.Duration
	// MaxMessageSize bounds one answer from a host, in bytes.
	MaxMessageSize int
	// MaxConnections bounds the connections open at once (hosts and
	// handshakes in progress).
	MaxConnections int
}

var gathererFileSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "basedir"}, {Name: "nickname"}, {Name: "log_level"}, {Name: "log_format"},
		{Name: "poll_interval"}, {Name: "poll_timeout"},
		{Name: "output_timeout"}, {Name: "output_queue"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "listen"},
		{Type: "status"},
		{Type: "limits"},
		{Type: "enrolment"},
		{Type: "output", LabelNames: []string{"name"}},
	},
}

var gathererLimitsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "max_stats_per_node"}, {Name: "max_nodes"}, {Name: "forget_after"},
	{Name: "max_handshakes"}, {Name: "max_handshakes_per_address"},
	{Name: "forget_new_after"}, {Name: "max_stats_total"},
	{Name: "new_node_stats_rate"}, {Name: "new_node_stats_burst"},
}}

var gathererEnrolmentSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "policy"}, {Name: "allowlist"}, {Name: "pending_expiry"}, {Name: "max_pending_per_address"},
}}

var gathererListenSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "port"}, {Name: "address"}, {Name: "location"},
	{Name: "handshake_timeout"}, {Name: "max_message_size"}, {Name: "max_connections"},
}}

// DefaultGatherer is the gatherer's configuration with no file, based in
// basedir (absolute).
func DefaultGatherer(basedir string) *Gatherer {
	return &Gatherer{
		Basedir:       basedir,
		Nickname:      DefaultGathererNickname,
		LogFormat:     DefaultLogFormat,
		LogLevel:      DefaultLogLevel,
		PollInterval:  DefaultPollInterval,
		PollTimeout:   DefaultGathererPollTimeout,
		OutputTimeout: DefaultOutputTimeout,
		OutputQueue:   DefaultOutputQueue,
		Listen: GathererListen{
			HandshakeTimeout: DefaultHandshakeTimeout,
			MaxMessageSize:   DefaultMaxMessageSize,
			MaxConnections:   DefaultMaxConnections,
		},
		StatusListen: DefaultGathererStatusListen,
		Limits: GathererLimits{
			MaxStatsPerNode:         DefaultMaxStatsPerNode,
			MaxNodes:                DefaultMaxNodes,
			ForgetAfter:             DefaultForgetAfter,
			ForgetNewAfter:          DefaultForgetNewAfter,
			MaxStatsTotal:           DefaultMaxStatsTotal,
			NewNodeStatsRate:        DefaultNewNodeStatsRate,
			NewNodeStatsBurst:       DefaultNewNodeStatsBurst,
			MaxHandshakes:           DefaultMaxHandshakes,
			MaxHandshakesPerAddress: DefaultMaxHandshakesPerAddr,
		},
		Enrolment: GathererEnrolment{Policy: DefaultEnrolmentPolicy, Allowlist: filepath.Join(basedir, DefaultAllowlistFile),
			PendingExpiry: DefaultPendingExpiry, MaxPendingPerAddress: DefaultMaxPendingPerAddress},
	}
}

// DefaultOutputs returns the outputs used when a file names none: the
// munin snapshot writer, writing stats.json in the base directory.
func (g *Gatherer) DefaultOutputs() ([]PluginBlock, hcl.Diagnostics) {
	src := fmt.Sprintf("path = %q\n", resolve(g.Basedir, "stats.json"))
	if g.Limits.ForgetAfter > 0 {
		src += fmt.Sprintf("forget_after = %q\n", g.Limits.ForgetAfter.String())
	}
	f, diags := NewParser().ParseSource([]byte(src), "<default munin output>")
	if diags.HasErrors() {
		return nil, diags
	}
	rng := hcl.Range{Filename: "<default munin output>"}
	if g.Filename != "" {
		rng.Filename = g.Filename
	}
	b, d := NewPluginBlock(sdk.KindOutput, DefaultGathererOutput, f.Body, rng)
	return []PluginBlock{b}, append(diags, d...)
}

// LoadGatherer reads and decodes the gatherer file at path. Output blocks
// are split (NewPluginBlock) but not decoded against their plugins'
// schemas: that needs the plugins running (supervisor.Check).
func LoadGatherer(p *Parser, path string) (*Gatherer, hcl.Diagnostics) {
	f, diags := p.ParseFile(path)
	if diags.HasErrors() {
		return nil, diags
	}
	g, d := DecodeGatherer(f.Body, path)
	return g, append(diags, d...)
}

// DecodeGatherer decodes the body of a gatherer file read from filename.
func DecodeGatherer(body hcl.Body, filename string) (*Gatherer, hcl.Diagnostics) {
	dir := "."
	if filename != "" {
		dir = filepath.Dir(filename)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	g := DefaultGatherer(dir)
	g.Filename = filename
	content, diags := body.Content(gathererFileSchema)

	if a, ok := content.Attributes["basedir"]; ok {
		var s string
		if d := gohclString(a, &s); d.HasErrors() {
			diags = append(diags, d...)
		} else if s == "" {
			diags = diags.Append(attrError(a, "Empty basedir", "Give the gatherer's base directory, or leave basedir out to use the config file's directory."))
		} else {
			g.Basedir = resolve(dir, s)
		}
	}
	if a, ok := content.Attributes["nickname"]; ok {
		if d := gohclString(a, &g.Nickname); d.HasErrors() {
			diags = append(diags, d...)
		} else if msg := badNickname(g.Nickname); msg != "" {
			diags = diags.Append(attrError(a, "Invalid nickname", msg))
		}
	}
	if a, ok := content.Attributes["log_format"]; ok {
		diags = append(diags, logFormatAttr(a, &g.LogFormat)...)
	}
	if a, ok := content.Attributes["log_level"]; ok {
		if d := gohclString(a, &g.LogLevel); d.HasErrors() {
			diags = append(diags, d...)
		} else {
			switch g.LogLevel {
			case "trace", "debug", "info", "warn", "error":
			default:
				diags = diags.Append(attrError(a, "Invalid log level", fmt.Sprintf("%q is not a log level; use one of trace, debug, info, warn, error.", g.LogLevel)))
			}
		}
	}
	_, pollTimeoutSet := content.Attributes["poll_timeout"]
	for _, x := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{
		{"poll_interval", &g.PollInterval, minGathererPollInterval},
		{"poll_timeout", &g.PollTimeout, time.Millisecond},
		{"output_timeout", &g.OutputTimeout, time.Millisecond},
	} {
		if a, ok := content.Attributes[x.name]; ok {
			diags = append(diags, positiveDuration(a, x.min, x.dst)...)
		}
	}
	if g.PollTimeout > g.PollInterval {
		if a, ok := content.Attributes["poll_timeout"]; ok && pollTimeoutSet {
			diags = diags.Append(attrError(a, "Invalid poll_timeout",
				fmt.Sprintf("poll_timeout (%v) is longer than poll_interval (%v): a round must end before the next one starts.", g.PollTimeout, g.PollInterval)))
		} else {
			g.PollTimeout = g.PollInterval
		}
	}
	if a, ok := content.Attributes["output_queue"]; ok {
		diags = append(diags, intAttr(a, 1, 1000, &g.OutputQueue)...)
	}

	seen := map[string]*hcl.Block{}
	outputs := map[string]hcl.Range{}
	var enrolmentBlk *hcl.Block
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "listen", "status", "limits", "enrolment":
			prev := seen[blk.Type]
			if prev != nil {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate " + blk.Type + " block",
					Detail: fmt.Sprintf("A gatherer file has at most one %s block; the first is at %s.", blk.Type, prev.DefRange), Subject: blk.DefRange.Ptr()})
				continue
			}
			seen[blk.Type] = blk
			switch blk.Type {
			case "listen":
				diags = append(diags, decodeGathererListen(blk, &g.Listen)...)
			case "status":
				st := Status{Listen: g.StatusListen, Pprof: g.StatusPprof}
				diags = append(diags, decodeStatus(blk, &st)...)
				g.StatusListen, g.StatusPprof = st.Listen, st.Pprof
			case "limits":
				diags = append(diags, decodeGathererLimits(blk, &g.Limits)...)
			case "enrolment":
				enrolmentBlk = blk
			}
		case "output":
			name := blk.Labels[0]
			if prev, ok := outputs[name]; ok {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate output",
					Detail: fmt.Sprintf("Output %q is already defined at %s; give each output block its own name.", name, prev), Subject: blk.DefRange.Ptr()})
				continue
			}
			outputs[name] = blk.DefRange
			pb, d := NewPluginBlock(sdk.KindOutput, name, blk.Body, blk.DefRange)
			diags = append(diags, d...)
			if pb.Plugin != "" && strings.ContainsRune(pb.Plugin, filepath.Separator) {
				pb.Plugin = resolve(dir, pb.Plugin)
			}
			g.Outputs = append(g.Outputs, pb)
		}
	}
	// The allowlist is relative to the base directory, known only now.
	g.Enrolment.Allowlist = filepath.Join(g.Basedir, DefaultAllowlistFile)
	if enrolmentBlk != nil {
		diags = append(diags, decodeGathererEnrolment(enrolmentBlk, g.Basedir, &g.Enrolment)...)
	}
	for i := range g.Outputs {
		g.Outputs[i].Body = withForgetAfter(g.Outputs[i], "forget_after", g.Limits.ForgetAfter)
		g.Outputs[i].Body = withForgetAfter(g.Outputs[i], "forget_new_after", g.Limits.ForgetNewAfter)
	}
	return g, diags
}

// withForgetAfter gives the built-in munin output the limits' attribute
// name (forget_after, forget_new_after), unless its block sets its own.
func withForgetAfter(b PluginBlock, name string, d time.Duration) hcl.Body {
	if b.Name != DefaultGathererOutput || b.Plugin != "" || d <= 0 || b.Body == nil {
		return b.Body
	}
	content, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: name}}})
	if content != nil {
		if _, ok := content.Attributes[name]; ok {
			return b.Body
		}
	}
	f, diags := NewParser().ParseSource([]byte(fmt.Sprintf("%s = %q\n", name, d.String())), "<limits "+name+">")
	if diags.HasErrors() {
		return b.Body
	}
	return hcl.MergeBodies([]hcl.Body{b.Body, f.Body})
}

func decodeGathererLimits(blk *hcl.Block, l *GathererLimits) hcl.Diagnostics {
	content, diags := blk.Body.Content(gathererLimitsSchema)
	for _, x := range []struct {
		name   string
		lo, hi int
		dst    *int
	}{
		{"max_stats_per_node", 1, 10_000_000, &l.MaxStatsPerNode},
		{"max_nodes", 1, 10_000_000, &l.MaxNodes},
		{"max_handshakes", 1, maxGathererConnectionsAllowed, &l.MaxHandshakes},
		{"max_handshakes_per_address", 1, maxGathererConnectionsAllowed, &l.MaxHandshakesPerAddress},
		{"max_stats_total", 1, 1 << 40, &l.MaxStatsTotal},
		{"new_node_stats_rate", 1, 1 << 40, &l.NewNodeStatsRate},
		{"new_node_stats_burst", 1, 1 << 40, &l.NewNodeStatsBurst},
	} {
		if a, ok := content.Attributes[x.name]; ok {
			diags = append(diags, intAttr(a, x.lo, x.hi, x.dst)...)
		}
	}
	if a, ok := content.Attributes["forget_new_after"]; ok {
		d, dd := DurationAttr(a)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			if d < time.Minute {
				diags = diags.Append(attrError(a, "Invalid forget_new_after", "forget_new_after must be at least 1m."))
			} else {
				l.ForgetNewAfter = d
			}
		}
	}
	if a, ok := content.Attributes["forget_after"]; ok {
		d, dd := DurationAttr(a)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			if d != 0 && d < time.Minute {
				diags = diags.Append(attrError(a, "Invalid forget_after", "forget_after must be at least 1m, or \"0s\" to keep nodes forever."))
			} else {
				l.ForgetAfter = d
			}
		}
	}
	return diags
}

func decodeGathererEnrolment(blk *hcl.Block, basedir string, e *GathererEnrolment) hcl.Diagnostics {
	content, diags := blk.Body.Content(gathererEnrolmentSchema)
	if a, ok := content.Attributes["policy"]; ok {
		if d := gohclString(a, &e.Policy); d.HasErrors() {
			diags = append(diags, d...)
		} else {
			switch e.Policy {
			case "open", "approve", "allowlist":
			default:
				diags = diags.Append(attrError(a, "Invalid enrolment policy", fmt.Sprintf("%q is not a policy; use open (anyone with the furl), approve (an operator approves each new node) or allowlist (the node ids in the allowlist file).", e.Policy)))
			}
		}
	}
	if a, ok := content.Attributes["allowlist"]; ok {
		var s string
		if d := gohclString(a, &s); d.HasErrors() {
			diags = append(diags, d...)
		} else if s == "" {
			diags = diags.Append(attrError(a, "Empty allowlist", "Give the file of node ids, or leave allowlist out to use the file allowlist in the base directory."))
		} else {
			e.Allowlist = resolve(basedir, s)
		}
	}
	if a, ok := content.Attributes["pending_expiry"]; ok {
		d, dd := DurationAttr(a)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			if d < time.Minute {
				diags = diags.Append(attrError(a, "Invalid pending_expiry", "pending_expiry must be at least 1m."))
			} else {
				e.PendingExpiry = d
			}
		}
	}
	if a, ok := content.Attributes["max_pending_per_address"]; ok {
		diags = append(diags, intAttr(a, 1, 1000, &e.MaxPendingPerAddress)...)
	}
	return diags
}

func decodeGathererListen(blk *hcl.Block, l *GathererListen) hcl.Diagnostics {
	content, diags := blk.Body.Content(gathererListenSchema)
	if a, ok := content.Attributes["port"]; ok {
		diags = append(diags, intAttr(a, 0, 65535, &l.Port)...)
	}
	if a, ok := content.Attributes["address"]; ok {
		if d := gohclString(a, &l.Address); d.HasErrors() {
			diags = append(diags, d...)
		} else if l.Address != "" && net.ParseIP(l.Address) == nil && l.Address != "localhost" {
			diags = diags.Append(attrError(a, "Invalid address", fmt.Sprintf("%q is not an IP address; give the local address to listen on, such as \"0.0.0.0\", or leave address out to listen on all.", l.Address)))
		}
	}
	if a, ok := content.Attributes["location"]; ok {
		diags = append(diags, locationAttr(a, &l.Location)...)
	}
	if a, ok := content.Attributes["handshake_timeout"]; ok {
		diags = append(diags, positiveDuration(a, minGathererHandshakeTimeout, &l.HandshakeTimeout)...)
	}
	if a, ok := content.Attributes["max_message_size"]; ok {
		diags = append(diags, intAttr(a, 1024, maxGathererMaxMessageSize, &l.MaxMessageSize)...)
	}
	if a, ok := content.Attributes["max_connections"]; ok {
		diags = append(diags, intAttr(a, 1, maxGathererConnectionsAllowed, &l.MaxConnections)...)
	}
	return diags
}

func locationAttr(a *hcl.Attribute, dst *[]string) hcl.Diagnostics {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	v, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || v.IsNull() {
		return hcl.Diagnostics{attrError(a, "Incorrect attribute value type", "location must be a list of strings: [\"gatherer.example.org:3456\", \"10.0.0.5\"].")}
	}
	var hints []string
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			return hcl.Diagnostics{attrError(a, "Invalid location", "A location hint is null.")}
		}
		h := e.AsString()
		host := h
		if hh, port, err := net.SplitHostPort(h); err == nil {
			host = hh
			if n, err := net.LookupPort("tcp", port); err != nil || n == 0 {
				return hcl.Diagnostics{attrError(a, "Invalid location", fmt.Sprintf("%q has no valid port.", h))}
			}
		}
		if host == "" || strings.ContainsAny(host, " \t\r\n,/@") {
			return hcl.Diagnostics{attrError(a, "Invalid location", fmt.Sprintf("%q is not a host name or address (with an optional :port).", h))}
		}
		hints = append(hints, h)
	}
	if len(hints) > maxGathererLocationHints {
		return hcl.Diagnostics{attrError(a, "Too many location hints", fmt.Sprintf("A furl holds at most %d location hints.", maxGathererLocationHints))}
	}
	*dst = hints
	return nil
}

func positiveDuration(a *hcl.Attribute, minimum time.Duration, dst *time.Duration) hcl.Diagnostics {
	d, diags := DurationAttr(a)
	if diags.HasErrors() {
		return diags
	}
	if d < minimum {
		return hcl.Diagnostics{attrError(a, "Invalid "+a.Name, fmt.Sprintf("%s must be at least %v.", a.Name, minimum))}
	}
	*dst = d
	return nil
}

func intAttr(a *hcl.Attribute, lo, hi int, dst *int) hcl.Diagnostics {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	v, err := convert.Convert(v, cty.Number)
	if err != nil || v.IsNull() {
		return hcl.Diagnostics{attrError(a, "Incorrect attribute value type", a.Name+" must be a number.")}
	}
	f := v.AsBigFloat()
	i, acc := f.Int64()
	if !f.IsInt() || acc != 0 || i < int64(lo) || i > int64(hi) {
		return hcl.Diagnostics{attrError(a, "Invalid "+a.Name, fmt.Sprintf("%s must be a whole number from %d to %d.", a.Name, lo, hi))}
	}
	*dst = int(i)
	return nil
}
