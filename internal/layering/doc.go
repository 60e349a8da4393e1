// Package layering holds the test that keeps the imports of the tree
// pointing down, as shared/STYLE.md draws the house:
//
//	cmd/*, examples/*      the mains: flags, then run
//	cli, internal/loadgen  the commands; cli picks the plugins (internal/builtin)
//	internal/builtin       the list of built-in plugins
//	host, gatherer, config, internal/{supervisor,identity,link,statuspage}
//	                       the generic runtime: never a concrete plugin
//	producers/*, outputs/*, munin/*
//	                       plugins, each written as a third party would:
//	                       the sdk and base packages, its own subpackages
//	sdk/*, internal/*      the base every layer stands on
//
// The runtime and the plugins are siblings: both stand on the base, neither
// imports the other. Otherwise a package may import one in a lower layer; in
// the base and the runtime,
// one in its own layer too (Go forbids cycles); a plugin only its own
// subpackages and its family's internal helpers. Test support (plugindoc,
// testenv, testbin, producertest, sdk/plugintest) is imported by tests
// alone and may stand on anything below the command. sdk/daemon, the sdk's
// side for the daemons, is imported by the runtime (and sdk/plugintest) alone. The test fails on any
// other import, and on a package it cannot place.
package layering
