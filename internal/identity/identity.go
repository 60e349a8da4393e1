// Package identity is a persistent TLS identity kept in a directory: a
// private key and a self-signed certificate, created on first use with
// mode 0600 and reused after that.
//
// A gatherer is known to its hosts by the Fingerprint of its certificate
// (written into its furl); a host is known to the gatherer by its ID, which
// is derived from its public key, like a Tahoe tubid: the lowercase base32
// (no padding) of the first 20 bytes of the SHA-256 of the certificate's
// SubjectPublicKeyInfo, 32 characters. The ID does not change when the
// certificate is re-issued, because it depends on the key only.
package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/statsherd/statsherd/internal/durable"
	"github.com/statsherd/statsherd/internal/furl"
)

// Identity is a loaded TLS identity.
type Identity struct {
	// Cert is the key and its self-signed certificate, ready for
	// tls.Config.Certificates.
	Cert tls.Certificate
	// Leaf is the parsed certificate.
	Leaf *x509.Certificate
	// ID is the node id derived from the public key (32 lowercase base32
	// characters).
	ID string
	// KeyFile and CertFile are where the identity is stored.
	KeyFile, CertFile string
}

// Fingerprint is the certificate's fingerprint as written in a furl:
// lowercase base32 (no padding) of the SHA-256 of the whole DER
// certificate, 52 characters.
func (id *Identity) Fingerprint() string { return Fingerprint(id.Leaf) }

// Fingerprint returns the furl fingerprint of cert.
func Fingerprint(cert *x509.Certificate) string { return furl.FingerprintOf(cert.Raw) }

// IDOf returns the node id of the key in cert.
func IDOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return furl.Encode(sum[:20])
}

// LoadOrCreate loads the identity stored in dir as NAME.key and NAME.crt,
// creating dir (mode 0700), a new ECDSA P-256 key and a self-signed
// certificate if the key does not exist yet. A key without a certificate
// gets a new certificate; the ID stays the same.
func LoadOrCreate(dir, name string) (*Identity, error) {
	keyFile := filepath.Join(dir, name+".key")
	certFile := filepath.Join(dir, name+".crt")
	keyPEM, err := os.ReadFile(keyFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating identity directory: %w", err)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generating key: %w", err)
		}
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encoding key: %w", err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
		if err := durable.CreateFile(keyFile, keyPEM, 0o600); err != nil {
			if !errors.Is(err, os.ErrExist) {
				return nil, err
			}
			// Someone else created it meanwhile: use theirs.
			if keyPEM, err = os.ReadFile(keyFile); err != nil {
				return nil, fmt.Errorf("reading identity key: %w", err)
			}
		}
	case err != nil:
		return nil, fmt.Errorf("reading identity key: %w", err)
	}
	if err := checkMode(keyFile); err != nil {
		return nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("identity key %s: %w; delete it to make a new identity (the node id will change)", keyFile, err)
	}
	certPEM, err := os.ReadFile(certFile)
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.X509KeyPair(certPEM, keyPEM)
	}
	if err != nil {
		// Missing, unreadable or not matching the key: issue a new one.
		certPEM, err = selfSign(key)
		if err != nil {
			return nil, err
		}
		if err := durable.WriteFile(certFile, certPEM, 0o600); err != nil {
			return nil, err
		}
		if cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
			return nil, fmt.Errorf("loading new certificate: %w", err)
		}
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parsing certificate %s: %w", certFile, err)
	}
	cert.Leaf = leaf
	return &Identity{Cert: cert, Leaf: leaf, ID: IDOf(leaf), KeyFile: keyFile, CertFile: certFile}, nil
}

// New makes an identity in memory only (for tests and load tools).
func New() (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return fromKey(key)
}

// FromKeyPEM makes an identity from a PEM private key held in memory.
func FromKeyPEM(keyPEM []byte) (*Identity, error) {
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	return fromKey(key)
}

// NewKeyPEM encodes a new ECDSA P-256 key as PEM.
func NewKeyPEM() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func fromKey(key *ecdsa.PrivateKey) (*Identity, error) {
	certPEM, err := selfSign(key)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(certPEM)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{blk.Bytes}, PrivateKey: key, Leaf: leaf}
	return &Identity{Cert: cert, Leaf: leaf, ID: IDOf(leaf)}, nil
}

func parseKey(keyPEM []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(keyPEM)
	if blk == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, want ECDSA", k)
	}
	return ek, nil
}

func selfSign(key *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("making serial number: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "statsherd"},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.AddDate(100, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func checkMode(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checking identity key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("identity key %s is readable by others (mode %v); run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}
