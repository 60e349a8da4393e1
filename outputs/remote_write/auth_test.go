package remote_write_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/outputs/remote_write"
	"github.com/statsherd/statsherd/sdk"
)

// testCA makes a CA and certificates it signs, written as PEM files.
type testCA struct {
	t    *testing.T
	dir  string
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pool *x509.CertPool
	file string
}

func newCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{t: t, dir: t.TempDir(), key: key, cert: cert, pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	ca.file = ca.write("ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, typ string, der []byte) string {
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// issue makes a certificate for cn (a server on 127.0.0.1, or a client),
// returning it and the paths of its PEM certificate and key.
func (ca *testCA) issue(cn string, server bool) (tls.Certificate, string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := ca.write(cn+".pem", "CERTIFICATE", der), ca.write(cn+".key", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		ca.t.Fatal(err)
	}
	return pair, certFile, keyFile
}

// TestTLSAndAuth: a receiver over real TLS that requires a client
// certificate; the output verifies it with tls_ca_file, presents
// tls_cert_file/tls_key_file and the secret from its file, which never
// reaches the logs.
func TestTLSAndAuth(t *testing.T) {
	t.Parallel()
	ca := newCA(t)
	serverCert, _, _ := ca.issue("receiver", true)
	_, clientCert, clientKey := ca.issue("gatherer-eu-1", false)
	secretDir := t.TempDir()
	const token, password = "s3cr3t-t0ken-value", "pa55-w0rd-value"
	tokenFile, pwFile := filepath.Join(secretDir, "token"), filepath.Join(secretDir, "password")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)

	var mu sync.Mutex
	var got []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		got = append(got, cn+" "+r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientCAs: ca.pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes below
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"bearer token", map[string]any{"bearer_token_file": tokenFile}, "gatherer-eu-1 Bearer " + token},
		{"basic auth", map[string]any{"basic_auth_user": "statsherd", "basic_auth_password_file": pwFile},
			"gatherer-eu-1 Basic c3RhdHNoZXJkOnBhNTUtdzByZC12YWx1ZQ=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			logs := &lockedWriter{}
			attrs := map[string]any{"url": srv.URL + "/api/v1/write", "dir": t.TempDir(), "tls_ca_file": ca.file,
				"tls_cert_file": clientCert, "tls_key_file": clientKey}
			for k, v := range tt.attrs {
				attrs[k] = v
			}
			b, _ := json.Marshal(attrs)
			o := remote_write.New(hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: logs}))
			if err := o.Configure(context.Background(), sdk.Config(b)); err != nil {
				t.Fatal(err)
			}
			defer o.Close(context.Background())
			if err := o.Write(context.Background(), fleetRound(time.Now(), 0)); err != nil {
				t.Fatal(err)
			}
			waitStats(t, o, func(st sdk.Stats) bool { return st.Counters["sent_requests"] == 1 })
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("receiver saw %q, want %q", got, tt.want)
			}
			if l := logs.String(); strings.Contains(l, token) || strings.Contains(l, password) {
				t.Errorf("a secret is in the logs:\n%s", l)
			}
		})
	}

	t.Run("unknown CA refused", func(t *testing.T) {
		other := newCA(t)
		b, _ := json.Marshal(map[string]any{"url": srv.URL + "/api/v1/write", "dir": t.TempDir(), "tls_ca_file": other.file,
			"min_backoff": int64(time.Millisecond), "max_backoff": int64(time.Millisecond)})
		o := remote_write.New(hclog.NewNullLogger())
		if err := o.Configure(context.Background(), sdk.Config(b)); err != nil {
			t.Fatal(err)
		}
		defer o.Close(context.Background())
		if err := o.Write(context.Background(), fleetRound(time.Now(), 0)); err != nil {
			t.Fatal(err)
		}
		st := waitStats(t, o, func(st sdk.Stats) bool { return st.Counters["retries"] >= 2 })
		if st.Counters["sent_samples"] != 0 {
			t.Errorf("delivered to a receiver whose certificate it cannot verify: %v", st)
		}
	})
}
