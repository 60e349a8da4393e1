package remote_write

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/statsherd/statsherd/outputs/internal/delivery"
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
		tok, err := delivery.ReadSecret(c.BearerTokenFile, "bearer_token_file")
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
			if pw, err = delivery.ReadSecret(c.BasicAuthPasswordFile, "basic_auth_password_file"); err != nil {
				return nil, "", err
			}
		}
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(c.BasicAuthUser, pw)
		auth = req.Header.Get("Authorization")
	}
	tc, err := c.TLS.Config()
	if err != nil {
		return nil, "", err
	}
	if tc != nil && u.Scheme != "https" {
		return nil, "", fmt.Errorf("tls_* options are set but url %q is not https", c.URL)
	}
	return delivery.HTTPClient(tc, int(c.Concurrency), c.Timeout), auth, nil
}
