// Package supervisor is the plugin runtime shared by the host and the
// gatherer. It starts a plugin as its own process through go-plugin (gRPC,
// AutoMTLS, versioned handshake), puts every call under a deadline, restarts
// a crashed plugin with capped exponential backoff (a fresh exec.Cmd and
// client each time), kills a plugin that hangs past its deadline, and keeps
// the plugin's state (up, restarts, last error, call duration) for the
// daemon to report as stats.
//
// Lifecycle of a Plugin: New, Start (launch and describe), Configure (the
// decoded HCL block, kept and re-applied after every restart), then any
// number of Collect (producers) or Write (outputs), then Stop. Calls on one
// Plugin are serialized.
package supervisor
