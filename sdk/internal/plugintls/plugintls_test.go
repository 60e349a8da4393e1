package plugintls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// plugin runs the plugin's side of d in this process, as a plugin started
// with d's environment and file would: d.File's descriptor stands for the
// inherited one.
func plugin(t *testing.T, d *Daemon) *tls.Config {
	t.Helper()
	for _, kv := range d.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv(EnvFD, dup(t, d.File))
	cfg, err := ForPlugin()
	if err != nil {
		t.Fatal(err)
	}
	if cfg == nil {
		t.Fatal("no configuration with " + EnvFD + " set")
	}
	if _, ok := os.LookupEnv(EnvFD); ok {
		t.Errorf("%s is still set: a process the plugin starts would take the descriptor for its own", EnvFD)
	}
	return cfg
}

// dup is a descriptor of f's own for ForPlugin to read and close.
func dup(t *testing.T, f *os.File) string {
	t.Helper()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(fd)
}

func daemon(t *testing.T) *Daemon {
	t.Helper()
	d, err := ForDaemon()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// handshake runs a TLS connection between client and server over a real
// socket pair and returns each side's error and the server's view.
func handshake(t *testing.T, client, server *tls.Config) (cerr, serr error, state tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		err   error
		state tls.ConnectionState
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		s := tls.Server(c, server)
		s.SetDeadline(time.Now().Add(10 * time.Second))
		err = s.Handshake()
		if err == nil {
			// TLS 1.3: the client's certificate is checked once its
			// Finished arrives; a byte from the client proves it.
			var b [1]byte
			_, err = s.Read(b[:])
		}
		done <- result{err: err, state: s.ConnectionState()}
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, cerr = c.Write([]byte{1})
		if cerr == nil {
			// The server's refusal of our certificate comes as an alert.
			var b [1]byte
			if _, cerr = c.Read(b[:]); errors.Is(cerr, io.EOF) {
				cerr = nil
			}
		}
		c.Close()
	} else {
		cerr = err
	}
	r := <-done
	return cerr, r.err, r.state
}

func isP256(t *testing.T, what string, der []byte) {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	k, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		t.Errorf("%s: key %T on %v, want ECDSA on P-256 (go-plugin's AutoMTLS: P-521, 0.5 MiB of heap a process)", what, c.PublicKey, curveName(k))
	}
}

func curveName(k *ecdsa.PublicKey) string {
	if k == nil {
		return "no curve"
	}
	return k.Curve.Params().Name
}

// The daemon and the plugin it started agree, each on P-256, each seeing
// the other's certificate.
func TestDaemonAndPluginAgreeOnP256(t *testing.T) {
	d := daemon(t)
	defer d.Close()
	server := plugin(t, d)
	cerr, serr, st := handshake(t, d.Config, server)
	if cerr != nil || serr != nil {
		t.Fatalf("daemon: %v; plugin: %v", cerr, serr)
	}
	if len(st.PeerCertificates) != 1 {
		t.Fatalf("the plugin saw %d client certificates", len(st.PeerCertificates))
	}
	isP256(t, "daemon's certificate", st.PeerCertificates[0].Raw)
	isP256(t, "plugin's certificate", server.Certificates[0].Certificate[0])
	isP256(t, "daemon's own certificate", d.Config.Certificates[0].Certificate[0])
}

// A peer that reaches the plugin's socket without the daemon's key is
// refused: another daemon's certificate, or none.
func TestPluginRefusesOtherClients(t *testing.T) {
	d := daemon(t)
	defer d.Close()
	server := plugin(t, d)
	other := daemon(t)
	defer other.Close()
	stranger := other.Config.Clone()
	stranger.RootCAs = d.Config.RootCAs // it trusts the plugin: only its own key is wrong
	for name, cfg := range map[string]*tls.Config{
		"another daemon's certificate": stranger,
		"no certificate":               {RootCAs: d.Config.RootCAs, ServerName: d.Config.ServerName},
	} {
		_, serr, _ := handshake(t, cfg, server)
		if serr == nil {
			t.Errorf("%s: the plugin accepted the connection", name)
		}
	}
}

// The daemon accepts only the plugin it made the key for.
func TestDaemonRefusesOtherPlugins(t *testing.T) {
	d := daemon(t)
	defer d.Close()
	other := daemon(t)
	defer other.Close()
	// The other plugin trusts this daemon: only its own key is wrong.
	server := plugin(t, other)
	server.ClientCAs = x509.NewCertPool()
	c, _ := x509.ParseCertificate(d.Config.Certificates[0].Certificate[0])
	server.ClientCAs.AddCert(c)
	cerr, _, _ := handshake(t, d.Config, server)
	if cerr == nil {
		t.Fatal("the daemon accepted a plugin with a key it did not make")
	}
}

// Without EnvFD (an older daemon, asking for go-plugin's AutoMTLS) the
// plugin leaves TLS to go-plugin; anything else wrong is an error, never
// a server without TLS.
func TestForPluginErrors(t *testing.T) {
	t.Run("no EnvFD", func(t *testing.T) {
		os.Unsetenv(EnvFD)
		cfg, err := ForPlugin()
		if cfg != nil || err != nil {
			t.Errorf("got %v, %v; want nil, nil", cfg, err)
		}
	})
	d := daemon(t)
	defer d.Close()
	clientPEM := strings.TrimPrefix(d.Env[0], EnvClientCert+"=")
	garbage, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("not a key"))
	w.Close()
	defer garbage.Close()
	for _, c := range []struct{ name, fd, cert, want string }{
		{"not a number", "x", clientPEM, "not a file descriptor"},
		{"stdin", "0", clientPEM, "not a file descriptor"},
		{"no key in the pipe", dup(t, garbage), clientPEM, "the TLS key from"},
		{"no daemon certificate", dup(t, d.File), "", "no daemon certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvFD, c.fd)
			t.Setenv(EnvClientCert, c.cert)
			cfg, err := ForPlugin()
			if err == nil || cfg != nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, %v; want an error with %q", cfg, err, c.want)
			}
		})
	}
}
