// Package daemonhook hands package sdk/daemon what it reaches of package
// sdk's unexported machinery (a sample's encoding, a round's shared
// encoding, the plugin client's set-up), so that none of it is in the API of
// plugin authors. Package sdk sets Sdk in its init; package sdk/daemon,
// which imports sdk (so sdk is initialised first), asserts it to an
// interface of its own, since this package cannot name sdk's types
// (grpc-go's internal package hands its subpackages the grpc package's
// internals the same way: internal.GetServerCredentials, set in
// server.go's init).
package daemonhook

// Sdk is package sdk's side for package sdk/daemon.
var Sdk any
