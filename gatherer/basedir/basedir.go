// Package basedir is a gatherer's base directory: its files (the TLS
// identity, the furl's secret, the port, the furl, the lock), making one
// (Init, Create), checking one, and the listener on its saved port.
package basedir

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/statsherd/statsherd/internal/durable"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
)

// Files in a gatherer's base directory.
const (
	// IdentityName is the name of the gatherer's key and certificate
	// (gatherer.key, gatherer.crt).
	IdentityName = "gatherer"
	// PortFile remembers the listening port across restarts.
	PortFile = "portnum"
	// SecretFile holds the furl's secret.
	SecretFile = "secret"
	// FurlFile is the furl, rewritten at every start.
	FurlFile = "stats_gatherer.furl"
	// StatusURLFile names the status page's address once it listens.
	StatusURLFile = "status.url"
)

// Mode is the mode a new base directory gets: readable by everyone,
// like /etc/ssh, so that munin's plugin user (nobody) reaches the snapshot
// written there (stats.json, mode 0644). The secrets inside stay
// owner-only by their own mode (0600): the key, the secret and the furl,
// which the gatherer refuses to use when others could read them.
const Mode = 0o755

// Init makes dir a gatherer base directory if it is not one yet: the
// directory (Mode), the TLS identity and the furl's secret. It
// reports whether it made a new identity. create-gatherer and `statsherd
// gatherer -create` call it; gatherer.Open refuses a directory Init never prepared.
func Init(dir string) (created bool, err error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, Mode); err != nil {
			return false, fmt.Errorf("creating base directory: %w", err)
		}
		// Whatever the umask: munin must reach the snapshot.
		if err := os.Chmod(dir, Mode); err != nil {
			return false, fmt.Errorf("creating base directory: %w", err)
		}
	}
	_, err = os.Stat(keyPath(dir))
	created = errors.Is(err, fs.ErrNotExist)
	if _, err := identity.LoadOrCreate(dir, IdentityName); err != nil {
		return false, fmt.Errorf("creating the gatherer's TLS identity: %w", err)
	}
	if _, err := LoadOrCreateSecret(dir); err != nil {
		return false, err
	}
	return created, nil
}

// Check returns an error saying what to do unless dir holds a
// gatherer's identity, made by create-gatherer (Init): a mistyped
// -basedir must never start a gatherer with a new identity, whose furl no
// host knows.
func Check(dir string) error {
	_, err := os.Stat(keyPath(dir))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s is not a gatherer base directory (it has no %s): make one with 'statsherd create-gatherer %s', "+
			"or start with -create to make a new gatherer identity there (every host then needs its new furl)", dir, IdentityName+".key", dir)
	default:
		return fmt.Errorf("%s cannot be a gatherer base directory: %w", dir, err)
	}
}

func keyPath(dir string) string { return filepath.Join(dir, IdentityName+".key") }

// checkPrivate refuses a secret-bearing file that others than its owner
// may read.
func checkPrivate(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("checking %s: %w", what, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s %s is readable by others (mode %04o): run chmod 600 %s; if someone may have read it, delete it to make a new one (every host then needs the new furl)",
			what, path, fi.Mode().Perm(), path)
	}
	return nil
}

// NewSecret returns 160 random bits as 32 lowercase base32 characters,
// like a Tahoe swissnum.
func NewSecret() (string, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making secret: %w", err)
	}
	return furl.Encode(b), nil
}

// LoadOrCreateSecret reads basedir/secret, creating it (mode 0600) if
// missing.
func LoadOrCreateSecret(basedir string) (string, error) {
	path := filepath.Join(basedir, SecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if err := checkPrivate(path, "secret file"); err != nil {
			return "", err
		}
		s := strings.TrimSpace(string(b))
		probe := furl.FURL{Fingerprint: strings.Repeat("a", furl.FingerprintLen), Hints: []string{"h:1"}, Secret: s}
		if _, perr := furl.Parse(probe.String()); perr != nil {
			return "", fmt.Errorf("secret file %s is damaged (%w); delete it to make a new secret (every host then needs the new furl)", path, perr)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading secret: %w", err)
	}
	s, err := NewSecret()
	if err != nil {
		return "", err
	}
	if err := WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", err
	}
	return s, nil
}

// ReadPortFile returns the port saved in basedir/portnum, 0 if none.
func ReadPortFile(basedir string) (int, error) {
	path := filepath.Join(basedir, PortFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading port file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	s = strings.TrimPrefix(s, "tcp:") // as Tahoe wrote it
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port file %s holds %.20q, not a port number; fix it or delete it to pick a new port (the furl changes)", path, s)
	}
	return n, nil
}

// Listen opens the gatherer's TCP listener: the configured port, else the
// saved one, else a free one, which is then saved.
func Listen(basedir, address string, port int) (net.Listener, error) {
	saved, err := ReadPortFile(basedir)
	if err != nil {
		return nil, err
	}
	fromFile := port == 0 && saved != 0
	if port == 0 {
		port = saved
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(port)))
	if err != nil {
		if fromFile {
			return nil, fmt.Errorf("listening on port %d, saved in %s: %w (is another gatherer running there? deleting the file picks a new port, and the furl changes)",
				port, filepath.Join(basedir, PortFile), err)
		}
		return nil, fmt.Errorf("listening: %w", err)
	}
	got := ln.Addr().(*net.TCPAddr).Port
	if got != saved {
		if err := WriteFile(filepath.Join(basedir, PortFile), []byte(strconv.Itoa(got)+"\n"), 0o644); err != nil {
			ln.Close()
			return nil, err
		}
	}
	return ln, nil
}

// LocationHints returns the furl's hints: the configured ones (a port
// added where missing), or the machine's addresses followed by 127.0.0.1.
func LocationHints(configured []string, port int) []string {
	p := strconv.Itoa(port)
	var hints []string
	add := func(h string) {
		for _, x := range hints {
			if x == h {
				return
			}
		}
		if len(hints) < furl.MaxHints {
			hints = append(hints, h)
		}
	}
	if len(configured) > 0 {
		for _, h := range configured {
			if _, _, err := net.SplitHostPort(h); err != nil {
				h = net.JoinHostPort(strings.Trim(h, "[]"), p)
			}
			add(h)
		}
		return hints
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() || ipn.IP.IsUnspecified() {
			continue
		}
		add(net.JoinHostPort(ipn.IP.String(), p))
	}
	add(net.JoinHostPort("127.0.0.1", p))
	return hints
}

// WriteFile replaces path with data, synced: durable.WriteFile.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	return durable.WriteFile(path, data, mode)
}

// WriteFileFunc is WriteFile of what write writes, through a
// buffer: a large file is never whole in memory.
func WriteFileFunc(path string, mode os.FileMode, write func(io.Writer) error) error {
	return durable.WriteFileFunc(path, mode, func(f io.Writer) error {
		bw := bufio.NewWriterSize(f, 64<<10)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// Files of the control interface, in the base directory.
const (
	// ControlSocket is the running gatherer's local control socket (mode
	// 0600): `statsherd gatherer nodes|approve|revoke|rotate-secret` talk
	// to it, so they act without a restart.
	ControlSocket = "control.sock"
	// LockFile is locked (flock) by a running gatherer, so the commands
	// know whether to edit the files themselves.
	LockFile = "nodes.lock"
)

// WriteSecretAndFurl writes a new secret, and the furl with it if f is not
// nil.
func WriteSecretAndFurl(basedir, secret string, f *furl.FURL) error {
	if err := WriteFile(filepath.Join(basedir, SecretFile), []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	if f != nil {
		if err := WriteFile(filepath.Join(basedir, FurlFile), []byte(f.String()+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// Lock takes the base directory's lock (held by a running
// gatherer), without waiting.
func Lock(basedir string) (unlock func(), err error) {
	path := filepath.Join(basedir, LockFile)
	f, err := durable.Lock(path)
	if errors.Is(err, durable.ErrLocked) {
		return nil, fmt.Errorf("a gatherer is running in %s (it holds %s) but its control socket %s cannot be reached; check the gatherer's log", basedir, path, filepath.Join(basedir, ControlSocket))
	}
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}
