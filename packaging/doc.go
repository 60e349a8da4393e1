// Package packaging holds no code: its tests prove what `make install`,
// the systemd units and README.md's "Running it for real" promise. The
// files beside them are what gets installed: systemd units (systemd/),
// the user (sysusers.d/), example configs (examples/), the Debian
// package's nfpm config and maintainer scripts (nfpm.yaml, deb/), and
// nfpm itself, pinned in tools.mod apart from the daemons' go.mod.
package packaging
