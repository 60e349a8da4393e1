// Package e2e holds the end-to-end test of the demo: real statsherd,
// statsherd-munin and tahoe-node binaries built from this tree, a gatherer,
// two hosts each beside a demo Tahoe node, and every one of the 26 Tahoe
// munin graphs checked for values from both nodes; and the recorded
// answers of a real Tahoe-LAFS node through the tahoe producer, a host and
// a gatherer into every graph they feed (tahoe_test.go). Run it with
//
//	go test ./examples/e2e
package e2e
