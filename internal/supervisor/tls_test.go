package supervisor

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"

	"github.com/statsherd/statsherd/sdk/daemon"
)

// startTestplugin starts the test plugin and returns its socket's address
// after a first Collect through it.
func startTestplugin(t *testing.T) (*Plugin, net.Addr) {
	t.Helper()
	p, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin = %q
}`, bins.testplugin), Options{}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := collect(t, p, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	rc := p.pool.client.ReattachConfig()
	if rc == nil || rc.Addr == nil {
		t.Fatal("no address for the plugin's socket")
	}
	return p, rc.Addr
}

// stranger connects to the plugin's socket over TLS with a certificate of
// its own (another daemon's), returns the plugin's certificate and the
// error of the first exchange: the plugin must refuse it.
func stranger(t *testing.T, addr net.Addr) (*x509.Certificate, error) {
	t.Helper()
	other, err := daemon.NewPluginTLS()
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	var peer *x509.Certificate
	cfg := other.Config.Clone()
	cfg.InsecureSkipVerify = true // it takes any plugin: only the plugin's refusal is tested
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		peer = cs.PeerCertificates[0]
		return nil
	}
	c, err := tls.Dial(addr.Network(), addr.String(), cfg)
	if err != nil {
		return peer, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// An HTTP/2 preface, as a gRPC client sends: TLS 1.3 checks the
	// client's certificate after the client's side of the handshake, so
	// the refusal comes with the first read.
	if _, err := io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); err != nil {
		return peer, err
	}
	_, err = c.Read(make([]byte, 64))
	return peer, err
}

// curve names the curve of cert's ECDSA key.
func curve(cert *x509.Certificate) string {
	if cert == nil {
		return "no certificate"
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		return k.Curve.Params().Name
	}
	return fmt.Sprintf("no curve (a %T key)", cert.PublicKey)
}

// refused says whether err ends the stranger's exchange: the plugin's TLS
// alert, or the connection it closed after it (a write then finds it
// closed); a timeout is no refusal.
func refused(err error) bool {
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// The plugin's socket takes only the daemon that started it: a client
// with another certificate is refused in the TLS handshake, one without
// TLS gets no gRPC answer. Both certificates are on P-256 (go-plugin's
// AutoMTLS: P-521, whose generator table holds 0.5 MiB of heap in each
// process).
func TestPluginRefusesStrangers(t *testing.T) {
	p, addr := startTestplugin(t)
	cert, err := stranger(t, addr)
	if !refused(err) {
		t.Errorf("a client with another certificate: %v; want the plugin to refuse it", err)
	}
	if c := curve(cert); c != "P-256" {
		t.Errorf("the plugin's certificate holds a key on %s, want ECDSA on P-256", c)
	}

	conn, err := grpc.NewClient("passthrough:///plugin", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, addr.Network(), addr.String())
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: "plugin"}); err == nil {
		t.Error("a client without TLS was answered")
	}

	// The daemon itself still is.
	if _, err := collect(t, p, 5*time.Second); err != nil {
		t.Fatalf("the daemon's own Collect after the strangers: %v", err)
	}
}

// A plugin built with an SDK before this mutual TLS answers with
// go-plugin's AutoMTLS (its own key, on P-521, in the handshake line): the
// daemon accepts it, and it still refuses strangers.
func TestPluginWithAutoMTLSStillServed(t *testing.T) {
	t.Setenv("TESTPLUGIN_AUTOMTLS", "1")
	_, addr := startTestplugin(t)
	cert, err := stranger(t, addr)
	if !refused(err) {
		t.Errorf("a client with another certificate: %v; want the plugin to refuse it", err)
	}
	if c := curve(cert); c != "P-521" {
		t.Errorf("the plugin's certificate holds a key on %s: the test plugin did not fall back to AutoMTLS (P-521)", c)
	}
}
