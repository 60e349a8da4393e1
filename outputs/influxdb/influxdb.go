// Package influxdb is the influxdb output: it sends every round to
// InfluxDB in line protocol, to 1.x's /write (database, retention policy,
// user and password) or 2.x's /api/v2/write (org, bucket, token), gzip'd,
// in batches, each point stamped with its round's time. Rounds go first
// to the durable queue shared by the outputs (package delivery), so an
// InfluxDB that is away, or a gatherer restart, loses nothing within the
// queue's bounds.
package influxdb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/outputs/internal/delivery"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "influxdb"

// Defaults of the output's attributes.
const (
	DefaultDir        = "influxdb"
	DefaultPrefix     = "statsherd"
	DefaultBatchLines = 1000
	// MaxBatchBytes ends a batch past this much line protocol (before
	// gzip), well under the server's limit of a request's body (1.x
	// max-body-size, 25 MB by default).
	MaxBatchBytes = 1 << 20
)

// Tags statsherd sets on every point.
const (
	TagNode     = "node"
	TagNickname = "nickname"
)

type settings struct {
	URL             string            `json:"url"`
	Database        string            `json:"database"`
	RetentionPolicy string            `json:"retention_policy"`
	Username        string            `json:"username"`
	PasswordFile    string            `json:"password_file"`
	Org             string            `json:"org"`
	Bucket          string            `json:"bucket"`
	TokenFile       string            `json:"token_file"`
	Prefix          string            `json:"prefix"`
	Tags            map[string]string `json:"tags"`
	Gzip            bool              `json:"gzip"`
	BatchLines      float64           `json:"batch_lines"`
	delivery.Bounds
	delivery.TLS
}

var schema = slices.Concat(sdk.Schema{
	{Name: "url", Type: sdk.String, Required: true, Description: "InfluxDB's base URL, e.g. http://127.0.0.1:8086"},
	{Name: "database", Type: sdk.String, Default: "", Description: "1.x: the database (writes to /write)"},
	{Name: "retention_policy", Type: sdk.String, Default: "", Description: "1.x: the retention policy (default: the database's default)"},
	{Name: "username", Type: sdk.String, Default: "", Description: "1.x: user to authenticate as"},
	{Name: "password_file", Type: sdk.String, Default: "", Description: "1.x: file holding the user's password"},
	{Name: "org", Type: sdk.String, Default: "", Description: "2.x: the organisation"},
	{Name: "bucket", Type: sdk.String, Default: "", Description: "2.x: the bucket (writes to /api/v2/write)"},
	{Name: "token_file", Type: sdk.String, Default: "", Description: "2.x: file holding the API token"},
	{Name: "prefix", Type: sdk.String, Default: DefaultPrefix, Description: "prefix of every measurement name"},
	{Name: "tags", Type: sdk.MapOfString, Default: map[string]string{}, Description: "extra tags of every point, e.g. { gatherer = \"eu-1\" }"},
	{Name: "gzip", Type: sdk.Bool, Default: true, Description: "compress requests with gzip"},
	{Name: "batch_lines", Type: sdk.Number, Default: DefaultBatchLines, Description: "lines per request at most"},
}, delivery.BoundsSchema(DefaultDir, "request"), delivery.TLSSchema("server"))

type output struct {
	log hclog.Logger
	delivery.Queued
}

// New returns the influxdb output. It does nothing until Configure.
func New(log hclog.Logger) sdk.Output {
	return &output{log: log, Queued: delivery.Queued{Now: time.Now}}
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     version.String(),
		Description: "sends every round to InfluxDB 1.x or 2.x in line protocol through a durable on-disk queue",
		Stats:       delivery.StatInfo,
		Config:      schema,
	}, nil
}

// Configure checks the settings, opens the queue (recovering what an
// earlier run left in it) and starts sending.
func (o *output) Configure(_ context.Context, raw sdk.Config) error {
	if o.Pipe != nil {
		return errors.New("configured twice")
	}
	cfg := settings{Prefix: DefaultPrefix, Gzip: true, BatchLines: DefaultBatchLines, Bounds: delivery.DefaultBounds(DefaultDir)}
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	w, err := newWriter(cfg)
	if err != nil {
		return err
	}
	pipe, dir, err := cfg.Bounds.Start(w.target, w.post, o.log, o.Now)
	if err != nil {
		return err
	}
	o.Pipe = pipe
	o.Encode = newEncoder(cfg.Prefix, cfg.Tags, int(cfg.BatchLines), cfg.Gzip).encode
	o.log.Info("sending rounds", "to", w.target, "gzip", cfg.Gzip, "queue", dir)
	return nil
}

// check validates the settings; the messages name the attribute.
func (c *settings) check() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q is not the http:// or https:// base URL of InfluxDB, e.g. \"http://127.0.0.1:8086\"", c.URL)
	}
	if u.User != nil {
		return errors.New("url carries a user or password: put the user in username and the password in the file named by password_file (1.x), or use token_file (2.x)")
	}
	if u.RawQuery != "" || strings.HasSuffix(strings.TrimRight(u.Path, "/"), "write") {
		return fmt.Errorf("url %q: give InfluxDB's base URL (http://HOST:8086), without /write or a query: the output adds them", c.URL)
	}
	v1 := c.Database != "" || c.RetentionPolicy != "" || c.Username != "" || c.PasswordFile != ""
	v2 := c.Org != "" || c.Bucket != "" || c.TokenFile != ""
	switch {
	case v1 && v2:
		return errors.New("both 1.x settings (database, retention_policy, username, password_file) and 2.x settings (org, bucket, token_file) are set: use one kind")
	case !v1 && !v2:
		return errors.New("neither database (InfluxDB 1.x) nor bucket and org (2.x) is set: name where the points go")
	case v1 && c.Database == "":
		return errors.New("database is empty: name the InfluxDB 1.x database, e.g. database = \"statsherd\"")
	case v1 && c.PasswordFile != "" && c.Username == "":
		return errors.New("password_file is set without username")
	case v2 && (c.Bucket == "" || c.Org == ""):
		return errors.New("InfluxDB 2.x needs both org and bucket")
	}
	for k := range c.Tags {
		if k == "" {
			return errors.New("tags: an empty tag name")
		}
		if k == TagNode || k == TagNickname {
			return fmt.Errorf("tags: %q is set by statsherd on every point; choose another name", k)
		}
	}
	if err := c.Bounds.Check(); err != nil {
		return err
	}
	if c.BatchLines < 1 || c.BatchLines > 1e6 {
		return fmt.Errorf("batch_lines %v is not between 1 and 1000000", c.BatchLines)
	}
	c.Tags = maps.Clone(c.Tags)
	return nil
}

var (
	_ sdk.Output        = (*output)(nil)
	_ sdk.NodeWriter    = (*output)(nil)
	_ sdk.StatsReporter = (*output)(nil)
)
