package remote_write

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// httpClient builds the HTTP client and the Authorization header from the
// settings. Secrets are read from files and never logged.
func httpClient(c settings) (*http.Client, string, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, "", fmt.Errorf("url %q is not an http:// or https:// URL of a remote write receiver, e.g. \"http://127.0.0.1:8428/api/v1/write\"", c.URL)
	}
	if u.User != nil {
		return nil, "", errors.New("url carries a user or password: put the user in basic_auth_user and the password in the file named by basic_auth_password_file")
	}
	auth := ""
	switch {
	case c.BearerTokenFile != "" && (c.BasicAuthUser != "" || c.BasicAuthPasswordFile != ""):
		return nil, "", errors.New("both bearer_token_file and basic auth are set: use one")
	case c.BearerTokenFile != "":
		tok, err := readSecret(c.BearerTokenFile, "bearer_token_file")
		if err != nil {
			return nil, "", err
		}
		auth = "Bearer " + tok
	case c.BasicAuthUser != "" || c.BasicAuthPasswordFile != "":
		if c.BasicAuthUser == "" {
			return nil, "", errors.New("basic_auth_password_file is set without basic_auth_user")
		}
		pw := ""
		if c.BasicAuthPasswordFile != "" {
			if pw, err = readSecret(c.BasicAuthPasswordFile, "basic_auth_password_file"); err != nil {
				return nil, "", err
			}
		}
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(c.BasicAuthUser, pw)
		auth = req.Header.Get("Authorization")
	}
	tc, err := tlsConfig(c)
	if err != nil {
		return nil, "", err
	}
	if tc != nil && u.Scheme != "https" {
		return nil, "", fmt.Errorf("tls_* options are set but url %q is not https", c.URL)
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: max(c.Concurrency, 2),
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: c.Timeout}, auth, nil
}

// tlsConfig returns the client TLS settings, or nil if none are set.
func tlsConfig(c settings) (*tls.Config, error) {
	if c.TLSCAFile == "" && c.TLSCertFile == "" && c.TLSKeyFile == "" && c.TLSServerName == "" && !c.TLSInsecureSkipVerify {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLSServerName, InsecureSkipVerify: c.TLSInsecureSkipVerify}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file %s holds no PEM certificate", c.TLSCAFile)
		}
		tc.RootCAs = pool
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return nil, errors.New("tls_cert_file and tls_key_file go together: set both for a client certificate, or neither")
	}
	if c.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the client certificate (tls_cert_file %s, tls_key_file %s): %w", c.TLSCertFile, c.TLSKeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// readSecret reads a one-line secret from a file.
func readSecret(path, attr string) (string, error) {
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
