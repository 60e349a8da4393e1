// Package tahoe bridges a running Tahoe-LAFS node into statsherd: at every
// collect it asks the node's web port for `statistics?t=json` (Tahoe's own
// StatsProvider.get_stats(), the dictionary Tahoe's stats gatherer polled)
// and reports the node's counters as counters and its stats as stats,
// under Tahoe's own names.
package tahoe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "tahoe"

// MaxBody is the largest answer read from a node. A busy storage server's
// statistics are a few KiB; anything near this is not Tahoe's answer.
const MaxBody = 16 << 20

// maxNodeURL bounds what is read of node.url (one line).
const maxNodeURL = 4096

// defaultTimeout bounds a request when the collect has no deadline.
const defaultTimeout = 10 * time.Second

type config struct {
	NodeDir string `json:"node_dir"`
	URL     string `json:"url"`
}

type producer struct {
	log    hclog.Logger
	cfg    config
	client *http.Client

	mu sync.Mutex
	// last is the web root of the last collect, so a node that moved
	// (restarted on a new port) drops the old idle connection.
	last string
}

// New returns the tahoe producer.
func New(log hclog.Logger) sdk.Producer {
	tr := &http.Transport{
		// One connection, kept alive from one collect to the next.
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     5 * time.Minute,
		DisableCompression:  true,
		// No Proxy: the node is reached directly, whatever the
		// environment says (http.DefaultTransport would read it).
	}
	return &producer{log: log, client: &http.Client{
		Transport: tr,
		// A node's statistics page does not redirect: a redirect is an
		// answer from something else, reported as such.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// graphed are the names Tahoe's munin graphs draw, documented so that
// `describe` lists them; the node's other names pass through as well.
var graphed = []sdk.StatInfo{
	{Name: "tahoe.up", Kind: sdk.Stat, Unit: "boolean", Description: "1 when the node answered this collect with its statistics, 0 when it did not (the error says why)"},
	{Name: "storage_server.allocate", Kind: sdk.Counter, Unit: "operations", Description: "immutable share allocations"},
	{Name: "storage_server.get", Kind: sdk.Counter, Unit: "operations", Description: "immutable bucket lookups for reading"},
	{Name: "storage_server.writev", Kind: sdk.Counter, Unit: "operations", Description: "mutable slot writes"},
	{Name: "storage_server.readv", Kind: sdk.Counter, Unit: "operations", Description: "mutable slot reads"},
	{Name: "storage_server.bytes_added", Kind: sdk.Counter, Unit: "bytes", Description: "bytes of immutable shares written"},
	{Name: "storage_server.bytes_freed", Kind: sdk.Counter, Unit: "bytes", Description: "bytes freed by lease expiry (only when expiry is on)"},
	{Name: "storage_server.allocated", Kind: sdk.Stat, Unit: "bytes", Description: "space promised to uploads in progress"},
	{Name: "storage_server.consumed", Kind: sdk.Stat, Unit: "bytes", Description: "space the shares take (old Tahoe only)"},
	{Name: "uploader.files_uploaded", Kind: sdk.Counter, Unit: "files", Description: "immutable files this client uploaded"},
	{Name: "uploader.bytes_uploaded", Kind: sdk.Counter, Unit: "bytes", Description: "bytes of immutable files this client uploaded"},
	{Name: "mutable.files_published", Kind: sdk.Counter, Unit: "files", Description: "mutable files this client published"},
	{Name: "mutable.files_retrieved", Kind: sdk.Counter, Unit: "files", Description: "mutable files this client retrieved"},
	{Name: "chk_upload_helper.upload_requests", Kind: sdk.Counter, Unit: "requests", Description: "uploads offered to this helper"},
	{Name: "chk_upload_helper.upload_already_present", Kind: sdk.Counter, Unit: "requests", Description: "offered uploads already in the grid"},
	{Name: "chk_upload_helper.upload_need_upload", Kind: sdk.Counter, Unit: "requests", Description: "offered uploads the helper took"},
	{Name: "chk_upload_helper.fetched_bytes", Kind: sdk.Counter, Unit: "bytes", Description: "ciphertext the helper fetched from clients"},
	{Name: "chk_upload_helper.encoded_bytes", Kind: sdk.Counter, Unit: "bytes", Description: "bytes the helper encoded and pushed"},
	{Name: "chk_upload_helper.active_uploads", Kind: sdk.Stat, Unit: "files", Description: "uploads the helper is working on"},
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name: Name,
		Description: "A running Tahoe-LAFS node's own counters and stats, read from its web port " +
			"(GET statistics?t=json), under Tahoe's names.",
		Stats: graphed,
		Config: sdk.Schema{
			{Name: "node_dir", Type: sdk.String, Default: "", Description: "the node's base directory: its web root is read from node.url there at every collect"},
			{Name: "url", Type: sdk.String, Default: "", Description: "the node's web root, such as http://127.0.0.1:3456/, when node_dir is not given"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	switch {
	case p.cfg.NodeDir == "" && p.cfg.URL == "":
		return errors.New("tahoe: give node_dir (the node's base directory, holding node.url) or url (its web root)")
	case p.cfg.NodeDir != "" && p.cfg.URL != "":
		return errors.New("tahoe: give node_dir or url, not both")
	case p.cfg.URL != "":
		if _, err := webRoot(p.cfg.URL); err != nil {
			return fmt.Errorf("tahoe: url: %w", err)
		}
	}
	return nil
}

// Check is Configure's dry run: Configure only decodes and checks, so the
// dry run is Configure on a scratch producer (its http client unused).
func (p *producer) Check(ctx context.Context, cfg sdk.Config) error {
	return (&producer{}).Configure(ctx, cfg)
}

// webRoot checks a node's web root and returns it ending with a slash.
func webRoot(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q names no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q has a query or fragment; give the node's web root", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// root is the node's web root for this collect: url, or node.url read now.
func (p *producer) root() (string, error) {
	if p.cfg.URL != "" {
		return webRoot(p.cfg.URL)
	}
	path := filepath.Join(p.cfg.NodeDir, "node.url")
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w (a Tahoe node writes it when its web port is up; is the node running, with web.port set?)", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxNodeURL+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("reading %s: %w", path, errors.Unwrap(err))
	case len(b) > maxNodeURL:
		return "", fmt.Errorf("reading %s: longer than %d bytes; it should hold one URL", path, maxNodeURL)
	case len(bytes.TrimSpace(b)) == 0:
		return "", fmt.Errorf("reading %s: it is empty (a node writes it when its web port is up)", path)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	r, err := webRoot(line)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return r, nil
}

func (p *producer) Collect(ctx context.Context) (sdk.Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	down := sdk.NewStats()
	down.Stats["tahoe.up"] = sdk.Int(0)
	root, err := p.root()
	if err != nil {
		return down, err
	}
	if root != p.last {
		if p.last != "" {
			p.log.Info("the node's web root changed", "from", p.last, "to", root)
		}
		p.client.CloseIdleConnections()
		p.last = root
	}
	st, err := p.fetch(ctx, root+"statistics?t=json")
	if st.Stats == nil {
		return down, err
	}
	// The node answered with its statistics, perhaps with some names
	// left out (err says which).
	st.Stats["tahoe.up"] = sdk.Int(1)
	return st, err
}

func (p *producer) Close(context.Context) error {
	p.client.CloseIdleConnections()
	return nil
}

var _ sdk.Producer = (*producer)(nil)
