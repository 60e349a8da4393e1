// Package supervisor is the plugin runtime shared by the host and the
// gatherer. It starts a plugin as its own process through go-plugin (gRPC,
// mutual TLS on keys made for each start, daemon.NewPluginTLS, where
// go-plugin's AutoMTLS made them on P-521; versioned handshake), puts
// every call under a deadline, restarts
// a crashed plugin with capped exponential backoff (a fresh exec.Cmd and
// client each time), kills a plugin that hangs past its deadline, and keeps
// the plugin's state (up, restarts, last error, call duration) for the
// daemon to report as stats.
//
// A Pool is one plugin process and its restarts. A third-party plugin has a
// pool of its own. The built-in plugins of one kind may share one
// (NewShared, Options.Shared): `statsherd plugin serve KIND` serves every
// built-in of KIND, the daemon's go-plugin client dispenses the key
// "KIND/NAME" for each (sdk/daemon.SharedPluginSets), and each Dispense is a
// separate instance of that plugin in the process, named in the metadata of
// its every call. A crash or hang of the shared process, whichever plugin's
// call finds it, ends it for all its plugins; each re-attaches to the fresh
// process at its next call (a new instance, described and configured
// again) and counts the restart in its own State.
//
// Lifecycle of a Plugin: New, Start (launch and describe), Configure (the
// decoded HCL block, kept and re-applied after every restart), then any
// number of Collect (producers) or Write (outputs), then Stop (the last
// plugin of a pool to stop ends its process). Calls on one Plugin are
// serialized; calls on plugins sharing a process run concurrently.
package supervisor
