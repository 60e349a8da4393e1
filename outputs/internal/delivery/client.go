package delivery

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// TLS is an output's client TLS settings (its tls_* attributes).
type TLS struct {
	CAFile             string `json:"tls_ca_file"`
	CertFile           string `json:"tls_cert_file"`
	KeyFile            string `json:"tls_key_file"`
	ServerName         string `json:"tls_server_name"`
	InsecureSkipVerify bool   `json:"tls_insecure_skip_verify"`
}

// TLSSchema describes TLS's attributes; peer names the other end in the
// descriptions ("receiver", "server").
func TLSSchema(peer string) sdk.Schema {
	return sdk.Schema{
		{Name: "tls_ca_file", Type: sdk.String, Default: "", Description: "PEM CA certificates to verify the " + peer + " with (default: the system's)"},
		{Name: "tls_cert_file", Type: sdk.String, Default: "", Description: "PEM client certificate"},
		{Name: "tls_key_file", Type: sdk.String, Default: "", Description: "PEM key of the client certificate"},
		{Name: "tls_server_name", Type: sdk.String, Default: "", Description: "name to verify the " + peer + "'s certificate against (default: the host of its address)"},
		{Name: "tls_insecure_skip_verify", Type: sdk.Bool, Default: false, Description: "do not verify the " + peer + "'s certificate (testing only)"},
	}
}

// Set reports whether any TLS setting is given.
func (t TLS) Set() bool {
	return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
}

// Config returns the client TLS settings, or nil if none are set.
func (t TLS) Config() (*tls.Config, error) {
	if !t.Set() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("tls_cert_file and tls_key_file go together: set both for a client certificate, or neither")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the client certificate (tls_cert_file %s, tls_key_file %s): %w", t.CertFile, t.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// HTTPClient is the HTTP client of an output: tc (may be nil), up to
// conns idle connections kept, each request bounded by timeout.
func HTTPClient(tc *tls.Config, conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: max(conns, 2),
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// ReadSecret reads a one-line secret (a password, a token) from the file
// named by the attribute attr.
func ReadSecret(path, attr string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", attr, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s %s is empty", attr, path)
	}
	return s, nil
}
