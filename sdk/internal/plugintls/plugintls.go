// Package plugintls is the mutual TLS between a statsherd daemon and a
// plugin process it starts, in place of go-plugin's AutoMTLS, with the
// same guarantees and on P-256 instead of P-521.
//
// AutoMTLS makes a fresh key and self-signed certificate on each side at
// every start: the daemon's certificate goes to the plugin in its
// environment (PLUGIN_CLIENT_CERT), the plugin's comes back in the
// handshake line on its stdout, and each side accepts only the other's
// certificate. Its keys are ECDSA on P-521, whose table of the generator's
// multiples the runtime builds on the heap at the first use, about 0.5 MiB
// that stays live in each process (P-256's is compiled into the binary,
// and already used by the node's identity).
//
// Here the daemon makes both key pairs, on P-256, at every start: its own
// certificate goes to the plugin in PLUGIN_CLIENT_CERT, as with AutoMTLS;
// the plugin's certificate and key go to it through a pipe inherited as a
// file descriptor (EnvFD names it), which the plugin reads to its end and
// closes before it listens. Each side accepts only the other's
// certificate, as with AutoMTLS, so a process that reaches the plugin's
// socket without the daemon's key is refused, and so is a plugin that does
// not hold the key the daemon made for it. The plugin's key exists in the
// daemon, which started the plugin and is its one peer, and in the pipe
// until the plugin reads it (a pipe only the two processes hold; another
// process of the same user could read it from /proc only as it could read
// either process's memory).
//
// A plugin built with an older SDK does not know EnvFD: it sees
// PLUGIN_CLIENT_CERT and answers with go-plugin's AutoMTLS, sending its
// own certificate in the handshake line, which go-plugin's client then
// trusts instead of the one made here. A newer plugin started by an older
// daemon (no EnvFD) falls back to AutoMTLS the same way.
package plugintls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"time"
)

// EnvFD names the file descriptor from which the plugin reads its
// certificate and key (PEM).
const EnvFD = "STATSHERD_PLUGIN_TLS_FD"

// EnvClientCert is go-plugin's variable for the daemon's certificate (PEM),
// which AutoMTLS uses too.
const EnvClientCert = "PLUGIN_CLIENT_CERT"

// serverName is the name both certificates carry, as with AutoMTLS.
const serverName = "localhost"

// maxPEM bounds what the plugin reads from the pipe.
const maxPEM = 16 << 10

// Daemon is the daemon's side for one start of a plugin.
type Daemon struct {
	// Env goes into the plugin's environment.
	Env []string
	// File is the pipe's end the plugin inherits: the caller puts it in
	// the command's ExtraFiles, as the first, and closes it once the
	// process has started (Close).
	File *os.File
	// Config is the TLS configuration of the daemon's client.
	Config *tls.Config
}

// Close closes the daemon's copy of the plugin's end of the pipe.
func (d *Daemon) Close() error { return d.File.Close() }

// ForDaemon makes the two key pairs for one start of a plugin: the pipe
// holds the plugin's, written and closed on the daemon's side.
func ForDaemon() (*Daemon, error) {
	clientDER, clientKey, err := newCert()
	if err != nil {
		return nil, err
	}
	serverDER, serverKey, err := newCert()
	if err != nil {
		return nil, err
	}
	serverCert, err := x509.ParseCertificate(serverDER)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(serverKey)
	if err != nil {
		return nil, err
	}
	var secret bytes.Buffer
	_ = pem.Encode(&secret, &pem.Block{Type: "CERTIFICATE", Bytes: serverDER})
	_ = pem.Encode(&secret, &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// The pipe's buffer (64 KiB) holds it all: nothing waits for the
	// plugin to read.
	_, err = w.Write(secret.Bytes())
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("handing the plugin its TLS key: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(serverCert)
	clientPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: clientDER})
	return &Daemon{
		// The first of ExtraFiles is the child's descriptor 3.
		Env:  []string{EnvClientCert + "=" + string(clientPEM), EnvFD + "=3"},
		File: r,
		Config: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{clientDER}, PrivateKey: clientKey}},
			RootCAs:      roots,
			ServerName:   serverName,
			MinVersion:   tls.VersionTLS12,
		},
	}, nil
}

// ForPlugin is the plugin's side: the TLS configuration of its server,
// from its certificate and key read from EnvFD and the daemon's
// certificate in EnvClientCert; nil without EnvFD (a daemon that asks for
// go-plugin's AutoMTLS, or none). Any other failure is an error: the
// plugin must not serve without the TLS its daemon asked for.
func ForPlugin() (*tls.Config, error) {
	v, ok := os.LookupEnv(EnvFD)
	if !ok {
		return nil, nil
	}
	// A process this plugin starts must not take the descriptor for its
	// own.
	os.Unsetenv(EnvFD)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q: not a file descriptor above 2", EnvFD, v)
	}
	f := os.NewFile(uintptr(fd), "statsherd-plugin-tls")
	if f == nil {
		return nil, fmt.Errorf("%s=%d: no such file descriptor", EnvFD, fd)
	}
	secret, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the TLS key from %s=%d: %w", EnvFD, fd, err)
	}
	if len(secret) > maxPEM {
		return nil, fmt.Errorf("the TLS key from %s=%d is over %d bytes", EnvFD, fd, maxPEM)
	}
	cert, err := tls.X509KeyPair(secret, secret)
	if err != nil {
		return nil, fmt.Errorf("the TLS key from %s=%d: %w", EnvFD, fd, err)
	}
	clients := x509.NewCertPool()
	if !clients.AppendCertsFromPEM([]byte(os.Getenv(EnvClientCert))) {
		return nil, errors.New("no daemon certificate in " + EnvClientCert)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    clients,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// newCert makes a key on P-256 and a self-signed certificate for it, as
// go-plugin's AutoMTLS makes them (on P-521): a CA for itself, named
// localhost, for clients and servers.
func newCert() ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: serverName, Organization: []string{"statsherd plugin"}},
		DNSNames:              []string{serverName},
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(30 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	return der, key, nil
}
