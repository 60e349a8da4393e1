// Package furl reads and writes the gatherer's furl, the capability URL a
// host needs to connect to it (after Tahoe-LAFS's FURLs):
//
//	pb://<fingerprint>@<hint>[,<hint>...]/<secret>
//
// fingerprint is the lowercase base32 (no padding) SHA-256 of the
// gatherer's TLS certificate, 52 characters: a host accepts a gatherer only
// if its certificate has that fingerprint, so no CA is involved. Each hint
// is a location "host:port" (an IPv6 address in brackets, "[::1]:3456"; a
// Tahoe-style "tcp:" prefix is accepted and dropped), tried in order. secret
// is the random capability, 16 to 128 lowercase base32 characters: knowing
// it is the right to connect. Errors never contain the secret.
package furl

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// Scheme is the prefix of every furl.
const Scheme = "pb://"

// Limits of the parts of a furl.
const (
	FingerprintLen = 52
	MinSecretLen   = 16
	MaxSecretLen   = 128
	MaxHints       = 16
	// MaxFileSize bounds a furl file.
	MaxFileSize = 4096
)

// FURL is a parsed furl.
type FURL struct {
	// Fingerprint is the gatherer certificate's fingerprint.
	Fingerprint string
	// Hints are the gatherer's addresses, "host:port", in the order to try.
	Hints []string
	// Secret is the capability presented when connecting.
	Secret string
}

// String is the furl in its canonical form.
func (f FURL) String() string {
	return Scheme + f.Fingerprint + "@" + strings.Join(f.Hints, ",") + "/" + f.Secret
}

// Redacted is the furl with its secret hidden, for logs and status pages.
func (f FURL) Redacted() string {
	return Scheme + f.Fingerprint + "@" + strings.Join(f.Hints, ",") + "/…"
}

// Parse parses a furl; surrounding white space is ignored. The error says
// which part is wrong.
func Parse(s string) (FURL, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return FURL{}, errors.New("furl is empty")
	}
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return FURL{}, fmt.Errorf("furl must start with %q", Scheme)
	}
	fp, rest, ok := strings.Cut(rest, "@")
	if !ok {
		return FURL{}, errors.New("furl has no '@' between fingerprint and location hints (want pb://FINGERPRINT@HOST:PORT/SECRET)")
	}
	if err := checkBase32("fingerprint", fp, FingerprintLen, FingerprintLen); err != nil {
		return FURL{}, err
	}
	hints, secret, ok := strings.Cut(rest, "/")
	if !ok {
		return FURL{}, errors.New("furl has no '/' before the secret (want pb://FINGERPRINT@HOST:PORT/SECRET)")
	}
	if err := checkBase32("secret", secret, MinSecretLen, MaxSecretLen); err != nil {
		return FURL{}, err
	}
	f := FURL{Fingerprint: fp, Secret: secret}
	if hints == "" {
		return FURL{}, errors.New("furl has no location hints (want HOST:PORT between '@' and '/')")
	}
	parts := strings.Split(hints, ",")
	if len(parts) > MaxHints {
		return FURL{}, fmt.Errorf("furl has %d location hints, at most %d allowed", len(parts), MaxHints)
	}
	for i, h := range parts {
		hint, err := parseHint(h)
		if err != nil {
			return FURL{}, fmt.Errorf("furl location hint %d: %w", i+1, err)
		}
		f.Hints = append(f.Hints, hint)
	}
	return f, nil
}

func parseHint(h string) (string, error) {
	h = strings.TrimPrefix(h, "tcp:")
	if h == "" {
		return "", errors.New("empty hint")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return "", fmt.Errorf("%.80q is not HOST:PORT: %w", h, err)
	}
	if host == "" {
		return "", fmt.Errorf("%.80q has no host", h)
	}
	for _, c := range host {
		if c <= ' ' || c == 0x7f || strings.ContainsRune("/@,", c) {
			return "", fmt.Errorf("host %.80q contains %q", host, c)
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
		return "", fmt.Errorf("port %.20q is not a number from 1 to 65535", port)
	}
	return net.JoinHostPort(host, port), nil
}

// encoding is the furl's alphabet: lowercase base32, no padding.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Encode writes b in the furl's alphabet (lowercase base32, no padding),
// as fingerprints, secrets and node ids are written.
func Encode(b []byte) string { return encoding.EncodeToString(b) }

// FingerprintOf is the fingerprint of the DER certificate der, as a furl
// names it: the encoded SHA-256 of the whole certificate. Both ends of the
// link compute it here.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	return Encode(sum[:])
}

// checkBase32 checks that s is lowercase base32 of a permitted length,
// never echoing s (it may be the secret).
func checkBase32(part, s string, minLen, maxLen int) error {
	if len(s) < minLen || len(s) > maxLen {
		if minLen == maxLen {
			return fmt.Errorf("furl %s is %d characters long, want %d", part, len(s), minLen)
		}
		return fmt.Errorf("furl %s is %d characters long, want %d to %d", part, len(s), minLen, maxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return fmt.Errorf("furl %s has an invalid character at position %d (want lowercase base32: a-z, 2-7)", part, i+1)
		}
	}
	return nil
}

// ReadFile reads and parses a furl file (such as stats_gatherer.furl).
func ReadFile(path string) (FURL, error) {
	f, err := os.Open(path)
	if err != nil {
		return FURL{}, fmt.Errorf("reading furl file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return FURL{}, fmt.Errorf("reading furl file %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return FURL{}, fmt.Errorf("furl file %s is larger than %d bytes: is it a furl?", path, MaxFileSize)
	}
	u, err := Parse(string(b))
	if err != nil {
		return FURL{}, fmt.Errorf("furl file %s: %w", path, err)
	}
	return u, nil
}
