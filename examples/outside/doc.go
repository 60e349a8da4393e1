// Package outside holds the test that builds the example plugins the way a
// third party would: copied into a scratch directory whose go.mod is the
// one sdk/README.md shows, requiring only the sdk module. Run it with
//
//	go test ./examples/outside
package outside
