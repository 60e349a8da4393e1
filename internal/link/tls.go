package link

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
)

// Both ends of the link's TLS are here, beside each other: the host pins
// the gatherer's certificate by the furl's fingerprint (no CA), and the
// gatherer requires a certificate of every host, whose key is the node's
// identity (identity.IDOf).

// ErrFingerprint is returned (wrapped) when the gatherer's certificate is
// not the one the furl names.
var ErrFingerprint = errors.New("gatherer certificate does not match the furl's fingerprint")

// ErrRefused is returned (wrapped) when the gatherer refuses the host.
var ErrRefused = errors.New("gatherer refused the connection")

// TLSConfig is the host's side of the link's TLS: the node's
// certificate as client certificate, and the gatherer's certificate
// checked against fingerprint.
func TLSConfig(id *identity.Identity, fingerprint string) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		MinVersion:   tls.VersionTLS13,
		// The gatherer's certificate is self-signed: it is verified by
		// its fingerprint below, not by a CA.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("gatherer sent no certificate: %w", ErrFingerprint)
			}
			got := furl.FingerprintOf(raw[0])
			if subtle.ConstantTimeCompare([]byte(got), []byte(fingerprint)) != 1 {
				return fmt.Errorf("%w: got %s, the furl names %s; this is not the gatherer the furl names", ErrFingerprint, got, fingerprint)
			}
			return nil
		},
	}
}

// ServerTLSConfig is the gatherer's side: its own certificate, and a client
// certificate required from every host (any certificate: the node id is
// derived from its key, and TLS has the host prove it holds the key).
func ServerTLSConfig(id *identity.Identity) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}
