package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// FuzzRegisterStream feeds arbitrary bytes to the host's side of the
// register socket: whatever a program sends, the host neither crashes nor
// hangs, forgets the program when the stream ends, and keeps only valid
// names from any answer.
func FuzzRegisterStream(f *testing.F) {
	hello := `{"register":"app","protocol":1}` + "\n"
	for _, s := range []string{
		hello + `{"id":1,"stats":{"counters":{"x":1},"stats":{"y":0.5,"z":null}}}` + "\n",
		hello + `{"id":1,"stats":{"counters":{"bad name":1}},"error":"partial"}` + "\n",
		`{"register":"app","protocol":1,"max_protocol":2}` + "\n" + `{"id":1,"stats":{"counters":{"x{a=\"1\"}":1,"x{b=\"1\",a=\"2\"}":1}}}` + "\n",
		hello + "not json\n",
		`{"register":"a b","protocol":1}` + "\n",
		`{"register":"a","protocol":2}` + "\n",
		"\n\n\n",
		hello + `{"id":18446744073709551615,"stats":{"stats":{"a":"x"}}}` + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &registry{
			log:     nullLog(),
			base:    t.Context(),
			taken:   func(string) bool { return false },
			timeout: func() time.Duration { return 50 * time.Millisecond },
			conns:   map[string]*registered{},
		}
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() { r.handle(server); close(done) }()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the host hangs on %q", data)
		}
		if n := len(r.producers()); n != 0 {
			t.Fatalf("%d producers still registered after the stream ended", n)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			var resp report.CollectResponse
			if json.Unmarshal(sc.Bytes(), &resp) != nil {
				continue
			}
			st, _ := cleanStats(resp.Stats)
			for k := range st.Counters {
				if sdk.ValidSeries(k) != nil {
					t.Fatalf("kept invalid counter %q", k)
				}
			}
			for k := range st.Stats {
				if sdk.ValidSeries(k) != nil {
					t.Fatalf("kept invalid stat %q", k)
				}
			}
		}
	})
}
