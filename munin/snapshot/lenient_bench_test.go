package snapshot

import (
	"fmt"
	"testing"
)

// tahoeLike returns a snapshot of n nodes shaped like a Tahoe grid's,
// about 3.5 kB a node: 26 stats the graphs draw, 44 more.
func tahoeLike(n int) []byte {
	s := Snapshot{}
	for i := 0; i < n; i++ {
		node := &Node{Nickname: fmt.Sprintf("storage-%04d", i), Timestamp: 1764000000 - float64(i%60),
			Counters: map[string]Value{}, Stats: map[string]Value{}}
		for j := 0; j < 13; j++ {
			node.Counters[fmt.Sprintf("storage_server.graphed_%02d", j)] = Int(int64(i * 1000))
			node.Stats[fmt.Sprintf("chk_upload_helper.graphed_%02d", j)] = Float(float64(i) / 3)
		}
		for j := 0; j < 22; j++ {
			node.Counters[fmt.Sprintf("storage_server.latencies.op_%02d.count", j)] = Int(int64(i*j + 12345))
			node.Stats[fmt.Sprintf("storage_server.latencies.op_%02d.99_9_percentile", j)] = Float(float64(i*j) / 7)
		}
		s[fmt.Sprintf("%032d", i)] = node
	}
	return Marshal(s)
}

// BenchmarkRead1000 is what one fetch of one graph reads of a 1,000-node
// snapshot.
func BenchmarkRead1000(b *testing.B) {
	data := tahoeLike(1000)
	wants := []Want{{Stats, "chk_upload_helper.graphed_05"}}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(data, wants); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead1000All is what a multigraph run reads: 26 values a node.
func BenchmarkRead1000All(b *testing.B) {
	data := tahoeLike(1000)
	var wants []Want
	for j := 0; j < 13; j++ {
		wants = append(wants, Want{Counters, fmt.Sprintf("storage_server.graphed_%02d", j)}, Want{Stats, fmt.Sprintf("chk_upload_helper.graphed_%02d", j)})
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Read(data, wants); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSelect1000 is the strict parser on the same file, for
// comparison.
func BenchmarkParseSelect1000(b *testing.B) {
	data := tahoeLike(1000)
	sel := &Select{Stats: map[string]bool{"chk_upload_helper.graphed_05": true}}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseSelect(data, sel); err != nil {
			b.Fatal(err)
		}
	}
}
