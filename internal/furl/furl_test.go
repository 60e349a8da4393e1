package furl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	fp     = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst"
	secret = "s3cr3ts3cr3ts3cr3ts3cr3ts3cr3tss"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    FURL
		wantErr string // substring of the error; "" means success
	}{
		{name: "one hint", in: "pb://" + fp + "@127.0.0.1:3456/" + secret,
			want: FURL{Fingerprint: fp, Hints: []string{"127.0.0.1:3456"}, Secret: secret}},
		{name: "hints in order, tcp prefix, ipv6, newline", in: "pb://" + fp + "@tcp:gw.example.org:1,[::1]:2,127.0.0.1:3/" + secret + "\n",
			want: FURL{Fingerprint: fp, Hints: []string{"gw.example.org:1", "[::1]:2", "127.0.0.1:3"}, Secret: secret}},
		{name: "empty", in: "  ", wantErr: "empty"},
		{name: "wrong scheme", in: "http://" + fp + "@h:1/" + secret, wantErr: `start with "pb://"`},
		{name: "no at", in: "pb://" + fp + "h:1/" + secret, wantErr: "no '@'"},
		{name: "short fingerprint", in: "pb://abc@h:1/" + secret, wantErr: "fingerprint is 3 characters long"},
		{name: "uppercase fingerprint", in: "pb://" + strings.ToUpper(fp) + "@h:1/" + secret, wantErr: "fingerprint has an invalid character at position 1"},
		{name: "no slash", in: "pb://" + fp + "@h:1", wantErr: "no '/'"},
		{name: "short secret", in: "pb://" + fp + "@h:1/abc", wantErr: "secret is 3 characters long"},
		{name: "bad secret char", in: "pb://" + fp + "@h:1/" + secret[:20] + "!" + secret[21:], wantErr: "secret has an invalid character at position 21"},
		// Base32's digits are 2 to 7: 0, 1, 8 and 9 are not in it.
		{name: "secret with an 8", in: "pb://" + fp + "@h:1/" + secret[:20] + "8" + secret[21:], wantErr: "secret has an invalid character at position 21"},
		{name: "fingerprint with a 9", in: "pb://" + fp[:51] + "9@h:1/" + secret, wantErr: "fingerprint has an invalid character at position 52"},
		{name: "secret with a 1", in: "pb://" + fp + "@h:1/1" + secret[1:], wantErr: "secret has an invalid character at position 1"},
		{name: "no hints", in: "pb://" + fp + "@/" + secret, wantErr: "no location hints"},
		{name: "hint without port", in: "pb://" + fp + "@h:1,h2/" + secret, wantErr: "hint 2"},
		{name: "port zero", in: "pb://" + fp + "@h:0/" + secret, wantErr: "port \"0\""},
		{name: "port too big", in: "pb://" + fp + "@h:65536/" + secret, wantErr: "port"},
		{name: "empty host", in: "pb://" + fp + "@:1/" + secret, wantErr: "no host"},
		{name: "empty hint", in: "pb://" + fp + "@h:1,/" + secret, wantErr: "empty hint"},
		{name: "too many hints", in: "pb://" + fp + "@" + strings.Repeat("h:1,", 16) + "h:1/" + secret, wantErr: "at most 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:20]) {
					t.Errorf("error reveals the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.String() != tt.want.String() {
				t.Errorf("Parse = %s, want %s", got, tt.want)
			}
			if strings.Contains(got.Redacted(), secret) {
				t.Errorf("Redacted reveals the secret: %s", got.Redacted())
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.furl")
	if err := os.WriteFile(good, []byte("pb://"+fp+"@127.0.0.1:9/"+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.furl")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.furl")
	if err := os.WriteFile(bad, []byte("pb://nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
	}{
		{"good", good, ""},
		{"missing", filepath.Join(dir, "missing"), "no such file"},
		{"too big", big, "larger than"},
		{"malformed names the file", bad, bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := ReadFile(tt.path)
			if tt.wantErr == "" {
				if err != nil || u.Secret != secret {
					t.Fatalf("ReadFile = %v, %v", u, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ReadFile error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("pb://" + fp + "@127.0.0.1:3456/" + secret)
	f.Add("pb://" + fp + "@tcp:[::1]:2,h:3/" + secret)
	f.Add("pb://@/")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(u.String())
		if err != nil {
			t.Fatalf("canonical form %q does not parse: %v", u.String(), err)
		}
		if again.String() != u.String() {
			t.Fatalf("round trip changed %q to %q", u.String(), again.String())
		}
	})
}
