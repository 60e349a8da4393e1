package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/sdk"
)

// Defaults of a host file.
const (
	DefaultStatsdListen  = "127.0.0.1:8125"
	DefaultStatusListen  = "127.0.0.1:8127"
	DefaultRegisterFile  = "register.sock"
	DefaultStatsdExpiry  = time.Hour
	DefaultStatsdRetry   = 10 * time.Second
	DefaultStatsdNames   = 100_000
	DefaultPollTimeout   = 5 * time.Second
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = time.Minute
	DefaultLogLevel      = "info"
	DefaultLogFormat     = "text"
	GathererFurlFileName = "stats_gatherer.furl"
)

// Host is a decoded host.hcl: the settings of one node's host daemon.
// Relative paths in the file are resolved against the file's directory
// (basedir, gatherer.furl_file, producer plugin paths) or against basedir
// (reporting.socket); every path here is absolute.
type Host struct {
	// Filename is the file the settings came from.
	Filename string
	// Nickname names the node to people; default the machine's hostname.
	Nickname string
	// Basedir holds the node key, the register socket and status files.
	// Default: the config file's directory.
	Basedir string
	// LogLevel is the hclog level: trace, debug, info, warn, error.
	LogLevel string
	// LogFormat is "text" (hclog's, for people) or "json" (one hclog JSON
	// object a line, for log shippers).
	LogFormat string
	// PollTimeout bounds the whole answer to one poll; a producer gets
	// min(its own timeout, PollTimeout).
	PollTimeout time.Duration
	// Gatherers are the gatherers the host reports to, one per gatherer
	// block, in file order; each polls the host on its own (HA, or
	// shards). None: the host runs locally only.
	Gatherers []GathererLink
	// Gatherer is the first of Gatherers (zero if none), for code that
	// knows one gatherer.
	Gatherer  GathererLink
	Reporting Reporting
	Status    Status
	// Producers are the producer blocks, in file order, then those of the
	// included files (Include), file by file in name order.
	Producers []PluginBlock
	// Include are the glob patterns (absolute, or relative to the host
	// file's directory) of files that add producer blocks, such as
	// "/etc/statsherd/host.d/*.hcl"; LoadHost reads them.
	Include []string
	// includeRange is where Include was set, for its diagnostics.
	includeRange hcl.Range
}

// GathererLink says where one of the host's gatherers is. One of Furl and
// FurlFile is set.
type GathererLink struct {
	// Furl is the gatherer's furl, given inline.
	Furl string
	// FurlFile is a file holding the furl: gatherer.furl_file, else
	// stats_gatherer.furl in basedir if it exists.
	FurlFile string
	// FURL is the parsed furl, from Furl or FurlFile.
	FURL furl.FURL
	// MinBackoff and MaxBackoff bound the wait between reconnections.
	MinBackoff, MaxBackoff time.Duration
	// Range is where the furl (or furl file) is given, for diagnostics.
	Range hcl.Range
}

// Configured reports whether a gatherer is named at all.
func (g GathererLink) Configured() bool { return g.Furl != "" || g.FurlFile != "" }

// Reporting are the settings of the reporting API for node software.
type Reporting struct {
	// StatsdListen is the loopback UDP address of the statsd listener;
	// "" turns it off.
	StatsdListen string
	// Socket is the unix socket on which node programs register as
	// producers; "" turns it off.
	Socket string
	// StatsdExpiry is how long a statsd name may go without a line before
	// it is forgotten (freeing its place under StatsdMaxNames).
	StatsdExpiry time.Duration
	// StatsdMaxNames bounds the distinct names kept from statsd.
	StatsdMaxNames int
	// StatsdRetry is how often a statsd address found taken (another
	// program's) is tried again; the host runs without statsd meanwhile.
	StatsdRetry time.Duration
}

// Status are the settings of the local status page.
type Status struct {
	// Listen is the loopback address of the HTTP status page; "" turns it
	// off.
	Listen string
	// Pprof serves Go's runtime profiles under /debug/pprof/ on the
	// status page (off by default: a CPU profile costs CPU while it runs).
	Pprof bool
}

var hostSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "nickname"}, {Name: "basedir"}, {Name: "log_level"}, {Name: "log_format"}, {Name: "poll_timeout"}, {Name: "include"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "gatherer"},
		{Type: "reporting"},
		{Type: "status"},
		{Type: "producer", LabelNames: []string{"name"}},
	},
}

var gathererSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "furl"}, {Name: "furl_file"}, {Name: "min_backoff"}, {Name: "max_backoff"},
}}

var reportingSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "statsd"}, {Name: "socket"}, {Name: "statsd_expiry"}, {Name: "statsd_max_names"}, {Name: "statsd_retry"},
}}

var statusSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "listen"}, {Name: "pprof"},
}}

// LoadHost reads and decodes the host file at path. Producer blocks are
// split (NewPluginBlock) but not decoded against their plugins' schemas:
// that needs the plugins running (supervisor.Check).
func LoadHost(p *Parser, path string) (*Host, hcl.Diagnostics) {
	f, diags := p.ParseFile(path)
	if diags.HasErrors() {
		return nil, diags
	}
	h, d := DecodeHost(f.Body, path)
	diags = append(diags, d...)
	if h != nil {
		diags = append(diags, h.loadIncludes(p)...)
	}
	return h, diags
}

// includeSchema is what an included file may hold: producer blocks.
var includeSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "producer", LabelNames: []string{"name"}}}}

// loadIncludes reads the files Include's patterns match, in name order,
// and adds their producer blocks; diagnostics point into those files.
func (h *Host) loadIncludes(p *Parser) hcl.Diagnostics {
	var diags hcl.Diagnostics
	producers := map[string]hcl.Range{}
	for _, pb := range h.Producers {
		producers[pb.Name] = pb.DefRange
	}
	for _, pattern := range h.Include {
		files, err := filepath.Glob(pattern)
		if err != nil {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid include pattern",
				Detail: fmt.Sprintf("%q: %v.", pattern, err), Subject: h.includeRange.Ptr()})
			continue
		}
		for _, file := range files {
			f, d := p.ParseFile(file)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			content, d := f.Body.Content(includeSchema)
			diags = append(diags, d...)
			for _, blk := range content.Blocks {
				diags = append(diags, h.addProducer(blk, filepath.Dir(file), producers)...)
			}
		}
	}
	return diags
}

// addProducer adds a producer block whose plugin paths are relative to
// dir, refusing a name already used (producers, name to where).
func (h *Host) addProducer(blk *hcl.Block, dir string, producers map[string]hcl.Range) hcl.Diagnostics {
	name := blk.Labels[0]
	if prev, ok := producers[name]; ok {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate producer",
			Detail: fmt.Sprintf("Producer %q is already defined at %s; give each producer block its own name.", name, prev), Subject: blk.DefRange.Ptr()}}
	}
	producers[name] = blk.DefRange
	pb, diags := NewPluginBlock(sdk.KindProducer, name, blk.Body, blk.DefRange)
	if pb.Plugin != "" && strings.ContainsRune(pb.Plugin, filepath.Separator) {
		pb.Plugin = resolve(dir, pb.Plugin)
	}
	h.Producers = append(h.Producers, pb)
	return diags
}

// DecodeHost decodes the body of a host file read from filename.
func DecodeHost(body hcl.Body, filename string) (*Host, hcl.Diagnostics) {
	dir := "."
	if filename != "" {
		dir = filepath.Dir(filename)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	h := &Host{
		Filename:    filename,
		Basedir:     dir,
		LogFormat:   DefaultLogFormat,
		LogLevel:    DefaultLogLevel,
		PollTimeout: DefaultPollTimeout,
		Reporting: Reporting{StatsdListen: DefaultStatsdListen, Socket: DefaultRegisterFile,
			StatsdExpiry: DefaultStatsdExpiry, StatsdMaxNames: DefaultStatsdNames, StatsdRetry: DefaultStatsdRetry},
		Status: Status{Listen: DefaultStatusListen},
	}
	content, diags := body.Content(hostSchema)

	if a, ok := content.Attributes["nickname"]; ok {
		if d := gohclString(a, &h.Nickname); d.HasErrors() {
			diags = append(diags, d...)
		} else if msg := badNickname(h.Nickname); msg != "" {
			diags = diags.Append(attrError(a, "Invalid nickname", msg))
		}
	} else {
		name, err := os.Hostname()
		if err != nil || badNickname(name) != "" {
			name = "statsherd-host"
		}
		h.Nickname = name
	}
	if a, ok := content.Attributes["basedir"]; ok {
		var s string
		if d := gohclString(a, &s); d.HasErrors() {
			diags = append(diags, d...)
		} else if s == "" {
			diags = diags.Append(attrError(a, "Empty basedir", "Give the directory that holds the node key, or leave basedir out to use the config file's directory."))
		} else {
			h.Basedir = resolve(dir, s)
		}
	}
	if a, ok := content.Attributes["include"]; ok {
		v, d := attrValue(a, cty.List(cty.String), `a list of file patterns, such as ["/etc/statsherd/host.d/*.hcl"]`)
		diags = append(diags, d...)
		if !d.HasErrors() {
			h.includeRange = a.Expr.Range()
			for _, e := range v.AsValueSlice() {
				if e.IsNull() || e.AsString() == "" {
					diags = diags.Append(attrError(a, "Invalid include", "An include pattern is empty."))
					continue
				}
				h.Include = append(h.Include, resolve(dir, e.AsString()))
			}
		}
	}
	if a, ok := content.Attributes["log_format"]; ok {
		diags = append(diags, logFormatAttr(a, &h.LogFormat)...)
	}
	if a, ok := content.Attributes["log_level"]; ok {
		if d := gohclString(a, &h.LogLevel); d.HasErrors() {
			diags = append(diags, d...)
		} else {
			switch h.LogLevel {
			case "trace", "debug", "info", "warn", "error":
			default:
				diags = diags.Append(attrError(a, "Invalid log level", fmt.Sprintf("%q is not a log level; use one of trace, debug, info, warn, error.", h.LogLevel)))
			}
		}
	}
	if a, ok := content.Attributes["poll_timeout"]; ok {
		d, dd := DurationAttr(a)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			if d <= 0 {
				diags = diags.Append(attrError(a, "Invalid poll_timeout", "poll_timeout must be longer than zero."))
			} else {
				h.PollTimeout = d
			}
		}
	}

	seen := map[string]*hcl.Block{}
	producers := map[string]hcl.Range{}
	for _, blk := range content.Blocks {
		if blk.Type != "producer" && blk.Type != "gatherer" {
			if prev, ok := seen[blk.Type]; ok {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate " + blk.Type + " block",
					Detail: fmt.Sprintf("A host file has at most one %s block; the first is at %s.", blk.Type, prev.DefRange), Subject: blk.DefRange.Ptr()})
				continue
			}
			seen[blk.Type] = blk
		}
		switch blk.Type {
		case "gatherer":
			g := GathererLink{MinBackoff: DefaultMinBackoff, MaxBackoff: DefaultMaxBackoff}
			d := decodeGatherer(blk, dir, &g)
			diags = append(diags, d...)
			if !d.HasErrors() {
				diags = append(diags, parseFurl(&g)...)
				h.Gatherers = append(h.Gatherers, g)
			}
		case "reporting":
			diags = append(diags, decodeReporting(blk, &h.Reporting)...)
		case "status":
			diags = append(diags, decodeStatus(blk, &h.Status)...)
		case "producer":
			diags = append(diags, h.addProducer(blk, dir, producers)...)
		}
	}
	if h.Reporting.Socket != "" {
		h.Reporting.Socket = resolve(h.Basedir, h.Reporting.Socket)
	}
	if _, ok := seen["gatherer"]; !ok {
		// As a Tahoe node did: a furl file dropped into the basedir.
		f := filepath.Join(h.Basedir, GathererFurlFileName)
		if _, err := os.Stat(f); err == nil {
			g := GathererLink{FurlFile: f, MinBackoff: DefaultMinBackoff, MaxBackoff: DefaultMaxBackoff}
			diags = append(diags, parseFurl(&g)...)
			h.Gatherers = append(h.Gatherers, g)
		}
	}
	diags = append(diags, duplicateGatherers(h.Gatherers)...)
	if len(h.Gatherers) > 0 {
		h.Gatherer = h.Gatherers[0]
	}
	return h, diags
}

// duplicateGatherers reports a gatherer named twice (the same certificate
// fingerprint): it would poll the host twice over one identity.
func duplicateGatherers(gs []GathererLink) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, g := range gs {
		key := g.FURL.Fingerprint
		if key == "" {
			continue
		}
		if prev, ok := seen[key]; ok {
			var subject *hcl.Range
			if g.Range.Filename != "" {
				subject = g.Range.Ptr()
			}
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate gatherer",
				Detail: fmt.Sprintf("This furl names the same gatherer as the one at %s; give each gatherer block a different gatherer.", prev), Subject: subject})
			continue
		}
		seen[key] = g.Range
	}
	return diags
}

func decodeGatherer(blk *hcl.Block, dir string, g *GathererLink) hcl.Diagnostics {
	content, diags := blk.Body.Content(gathererSchema)
	furl, hasFurl := content.Attributes["furl"]
	file, hasFile := content.Attributes["furl_file"]
	switch {
	case hasFurl && hasFile:
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting gatherer settings",
			Detail: "Give the gatherer's furl either inline (furl) or as a file (furl_file), not both.", Subject: file.Range.Ptr()})
	case hasFurl:
		g.Range = furl.Expr.Range()
		if d := gohclString(furl, &g.Furl); d.HasErrors() {
			diags = append(diags, d...)
		} else if strings.TrimSpace(g.Furl) == "" {
			diags = diags.Append(attrError(furl, "Empty furl", "Give the gatherer's furl (the contents of its stats_gatherer.furl), or leave the gatherer block out to run locally only."))
		}
		g.Furl = strings.TrimSpace(g.Furl)
	case hasFile:
		g.Range = file.Expr.Range()
		var s string
		if d := gohclString(file, &s); d.HasErrors() {
			diags = append(diags, d...)
		} else if s == "" {
			diags = diags.Append(attrError(file, "Empty furl_file", "Give the path of the gatherer's stats_gatherer.furl."))
		} else {
			g.FurlFile = resolve(dir, s)
		}
	default:
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing gatherer furl",
			Detail: "A gatherer block needs furl = \"pb://...\" or furl_file = \"/path/to/stats_gatherer.furl\"; leave the block out to run locally only.", Subject: blk.DefRange.Ptr()})
	}
	for _, x := range []struct {
		name string
		dst  *time.Duration
	}{{"min_backoff", &g.MinBackoff}, {"max_backoff", &g.MaxBackoff}} {
		if a, ok := content.Attributes[x.name]; ok {
			d, dd := DurationAttr(a)
			diags = append(diags, dd...)
			if !dd.HasErrors() {
				if d <= 0 {
					diags = diags.Append(attrError(a, "Invalid "+x.name, x.name+" must be longer than zero."))
				} else {
					*x.dst = d
				}
			}
		}
	}
	if g.MaxBackoff < g.MinBackoff {
		rng := blk.DefRange
		if a, ok := content.Attributes["max_backoff"]; ok {
			rng = a.Expr.Range()
		}
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid max_backoff",
			Detail: fmt.Sprintf("max_backoff (%v) is shorter than min_backoff (%v).", g.MaxBackoff, g.MinBackoff), Subject: rng.Ptr()})
	}
	return diags
}

// parseFurl reads and parses the gatherer's furl, if one is named.
func parseFurl(g *GathererLink) hcl.Diagnostics {
	var subject *hcl.Range
	if g.Range.Filename != "" {
		subject = g.Range.Ptr()
	}
	switch {
	case g.Furl != "":
		u, err := furl.Parse(g.Furl)
		if err != nil {
			return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid gatherer furl",
				Detail: fmt.Sprintf("%s. Copy the furl from the gatherer's %s.", upperFirst(err.Error()), GathererFurlFileName), Subject: subject}}
		}
		g.FURL = u
	case g.FurlFile != "":
		u, err := furl.ReadFile(g.FurlFile)
		if err != nil {
			return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid gatherer furl file",
				Detail: fmt.Sprintf("%s. Copy the gatherer's %s here, or point furl_file at it.", upperFirst(err.Error()), GathererFurlFileName), Subject: subject}}
		}
		g.FURL = u
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func decodeReporting(blk *hcl.Block, r *Reporting) hcl.Diagnostics {
	content, diags := blk.Body.Content(reportingSchema)
	if a, ok := content.Attributes["statsd"]; ok {
		if d := gohclString(a, &r.StatsdListen); d.HasErrors() {
			diags = append(diags, d...)
		} else if r.StatsdListen != "" {
			diags = append(diags, loopbackAddr(a, r.StatsdListen, "statsd listener")...)
		}
	}
	if a, ok := content.Attributes["socket"]; ok {
		diags = append(diags, gohclString(a, &r.Socket)...)
	}
	if a, ok := content.Attributes["statsd_expiry"]; ok {
		d, dd := DurationAttr(a)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			if d <= 0 {
				diags = diags.Append(attrError(a, "Invalid statsd_expiry", "statsd_expiry must be longer than zero, such as \"1h\"."))
			} else {
				r.StatsdExpiry = d
			}
		}
	}
	if a, ok := content.Attributes["statsd_max_names"]; ok {
		diags = append(diags, intAttr(a, 1, 10_000_000, &r.StatsdMaxNames)...)
	}
	if a, ok := content.Attributes["statsd_retry"]; ok {
		d, dd := DurationAttr(a)
		diags = append(diags, dd...)
		if !dd.HasErrors() {
			if d <= 0 {
				diags = diags.Append(attrError(a, "Invalid statsd_retry", "statsd_retry must be longer than zero, such as \"10s\"."))
			} else {
				r.StatsdRetry = d
			}
		}
	}
	return diags
}

func decodeStatus(blk *hcl.Block, s *Status) hcl.Diagnostics {
	content, diags := blk.Body.Content(statusSchema)
	if a, ok := content.Attributes["listen"]; ok {
		if d := gohclString(a, &s.Listen); d.HasErrors() {
			diags = append(diags, d...)
		} else if s.Listen != "" {
			diags = append(diags, loopbackAddr(a, s.Listen, "status page")...)
		}
	}
	if a, ok := content.Attributes["pprof"]; ok {
		diags = append(diags, gohclBool(a, &s.Pprof)...)
	}
	return diags
}

// loopbackAddr checks that addr is host:port with a loopback host: the
// reporting API and the status page have no authentication.
func loopbackAddr(a *hcl.Attribute, addr, what string) hcl.Diagnostics {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return hcl.Diagnostics{attrError(a, "Invalid address", fmt.Sprintf("%q is not an address: write host:port, such as \"127.0.0.1:8125\".", addr))}
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return hcl.Diagnostics{attrError(a, "Invalid address", fmt.Sprintf("%q has no valid port.", addr))}
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return hcl.Diagnostics{attrError(a, "Not a loopback address",
			fmt.Sprintf("The %s has no authentication, so it listens on loopback only: use 127.0.0.1, [::1] or localhost, not %q.", what, host))}
	}
	return nil
}

func badNickname(s string) string {
	if strings.TrimSpace(s) == "" {
		return "The nickname is empty; give the name people know this node by, or leave nickname out to use the hostname."
	}
	if len(s) > 200 {
		return "The nickname is longer than 200 bytes."
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("The nickname %q has a control character.", s)
		}
	}
	return ""
}

func attrError(a *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: a.Expr.Range().Ptr()}
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// logFormatAttr decodes a log_format attribute: "text" or "json".
func logFormatAttr(a *hcl.Attribute, v *string) hcl.Diagnostics {
	if d := gohclString(a, v); d.HasErrors() {
		return d
	}
	switch *v {
	case "text", "json":
		return nil
	}
	return hcl.Diagnostics{attrError(a, "Invalid log format", fmt.Sprintf("%q is not a log format; use \"text\" or \"json\" (hclog's JSON, one object a line).", *v))}
}
