#!/usr/bin/env bash
# The Debian package, for real, on this machine (CI runs it as root after
# `make test`): build it (make deb), `apt-get install ./….deb`, check the
# user, directories and units it installed and that it enabled no
# service, run `statsherd version`, a gatherer and a host as the package's
# user, and `munin-run` through links to the installed statsherd-munin
# with the installed plugin-conf.d, then `apt-get purge` it and check that
# nothing of it is left. Any failure ends the script with a message and a
# non-zero exit. It stops only the processes it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

die() { echo "deb-test: FAIL: $*" >&2; exit 1; }
step() { echo "deb-test: $*"; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs and purges the package)"
installed() { dpkg-query -W -f '${Status}' statsherd 2>/dev/null | grep -q 'install ok installed'; }
installed && die "a statsherd package is already installed here; this test installs and purges its own"
for d in /var/lib/statsherd-gatherer /var/lib/statsherd /etc/statsherd; do
	[ -e "$d" ] && die "$d exists already (left by an earlier install?); remove it to run this test"
done

pids=()
scratch=$(mktemp -d /tmp/statsherd-deb-test.XXXXXX)
chmod 0755 "$scratch" # munin-run's plugin user reads the links here
made_policy=""
ours=""
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	# After a failure, leave no package of ours behind for the next run.
	if [ -n "$ours" ] && installed; then apt-get purge -y -q statsherd >/dev/null 2>&1 || true; fi
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	rm -rf "$scratch"
}
trap cleanup EXIT
# No package installed here may start a service (a machine may run its own
# munin-node); ours starts none, its recommends might.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	made_policy=1
fi

step "make deb"
make -s deb >"$scratch/make-deb.log" 2>&1 || { cat "$scratch/make-deb.log" >&2; die "make deb failed"; }
deb=$(ls -t dist/statsherd_*_"$(go env GOARCH)".deb | head -1)
[ -f "$deb" ] || die "make deb made no dist/statsherd_*.deb"

step "apt-get install ./$deb"
ours=1
apt-get install -y -q "./$deb" >"$scratch/install.log" 2>&1 || { cat "$scratch/install.log" >&2; die "apt-get install ./$deb failed"; }
installed || die "apt-get installed no statsherd package"

step "what it installed"
[ "$(command -v statsherd)" = /usr/bin/statsherd ] || die "statsherd on PATH is $(command -v statsherd), not the package's /usr/bin/statsherd"
statsherd version | grep -q '^statsherd ' || die "statsherd version: $(statsherd version 2>&1)"
statsherd-munin version | grep -q '^statsherd-munin ' || die "statsherd-munin version: $(statsherd-munin version 2>&1)"
getent passwd statsherd >/dev/null || die "the package made no user statsherd"
for d in /var/lib/statsherd-gatherer:755 /var/lib/statsherd:750 /etc/statsherd:755; do
	got=$(stat -c '%a' "${d%%:*}") || die "the package made no ${d%%:*}"
	[ "$got" = "${d##*:}" ] || die "${d%%:*} has mode $got, want ${d##*:}"
done
[ "$(stat -c %U /var/lib/statsherd-gatherer)" = statsherd ] || die "/var/lib/statsherd-gatherer is not statsherd's"
for f in /usr/lib/systemd/system/statsherd-gatherer.service /usr/lib/systemd/system/statsherd-host.service \
	/usr/lib/systemd/system/statsherd-host@.service /usr/lib/sysusers.d/statsherd.conf /etc/munin/plugin-conf.d/statsherd /usr/share/statsherd/examples/host.hcl; do
	[ -f "$f" ] || die "the package did not install $f"
done
out=$(systemd-analyze verify --man=no /usr/lib/systemd/system/statsherd-gatherer.service /usr/lib/systemd/system/statsherd-host.service 2>&1) ||
	die "systemd-analyze verify of the installed units: $out"
[ -z "$out" ] || die "systemd-analyze verify of the installed units says: $out"
for u in statsherd-gatherer statsherd-host; do
	state=$(systemctl is-enabled "$u" 2>&1 || true)
	[ "$state" = disabled ] || die "$u is '$state' after install, want disabled until configured"
done

step "a gatherer and a host as user statsherd, munin-run through the installed plugin"
# setpriv execs: $! is the daemon itself, which the test signals and waits for.
asuser=(setpriv --reuid=statsherd --regid=statsherd --init-groups --)
runuser -u statsherd -- statsherd create-gatherer /var/lib/statsherd-gatherer >"$scratch/create.log" 2>&1 ||
	{ cat "$scratch/create.log" >&2; die "create-gatherer as statsherd failed"; }
printf 'poll_interval = "1s"\nstatus { listen = "127.0.0.1:0" }\n' >>/var/lib/statsherd-gatherer/gatherer.hcl
"${asuser[@]}" /usr/bin/statsherd gatherer -basedir /var/lib/statsherd-gatherer >"$scratch/gatherer.out" 2>"$scratch/gatherer.log" &
pids+=($!)
install -m 0640 -g statsherd /var/lib/statsherd-gatherer/stats_gatherer.furl /etc/statsherd/
sed -e 's/"storage-01"/"deb-test"/' -e 's/127.0.0.1:8125/127.0.0.1:0/' -e 's/127.0.0.1:8127/127.0.0.1:0/' \
	/usr/share/statsherd/examples/host.hcl >/etc/statsherd/host.hcl
statsherd validate /etc/statsherd/host.hcl >"$scratch/validate.log" 2>&1 || { cat "$scratch/validate.log" >&2; die "the example host.hcl does not validate"; }
"${asuser[@]}" /usr/bin/statsherd host -config /etc/statsherd/host.hcl >"$scratch/host.out" 2>"$scratch/host.log" &
pids+=($!)
mkdir -m 0755 "$scratch/plugins"
statsherd-munin install-links "$scratch/plugins" >/dev/null
[ "$(readlink "$scratch/plugins/tahoe_runtime_load_avg")" = /usr/bin/statsherd-munin ] ||
	die "install-links made $(readlink "$scratch/plugins/tahoe_runtime_load_avg"), want a link to /usr/bin/statsherd-munin"
value=""
for _ in $(seq 300); do
	value=$(munin-run --servicedir "$scratch/plugins" tahoe_runtime_load_avg 2>"$scratch/munin-run.err" | grep '^deb_test_.*\.value [0-9]' || true)
	[ -n "$value" ] && break
	sleep 0.2
done
[ -n "$value" ] || die "munin-run tahoe_runtime_load_avg printed no value for the host deb-test within 60 s: $(cat "$scratch/munin-run.err")
gatherer: $(tail -n 5 "$scratch/gatherer.log")
host: $(tail -n 5 "$scratch/host.log")"
step "munin-run tahoe_runtime_load_avg: $value"
for p in "${pids[@]}"; do kill "$p"; done
for p in "${pids[@]}"; do wait "$p" || die "a daemon exited $? on SIGTERM: $(tail -n 5 "$scratch"/gatherer.log "$scratch"/host.log)"; done
pids=()

step "apt-get purge statsherd"
apt-get purge -y -q statsherd >"$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log" >&2; die "apt-get purge statsherd failed"; }
installed && die "statsherd is still installed after purge"
dpkg-query -W -f '${Status}' statsherd 2>/dev/null | grep -q 'config-files' && die "purge left statsherd's config files registered"
for f in /usr/bin/statsherd /usr/bin/statsherd-munin /usr/lib/systemd/system/statsherd-gatherer.service \
	/usr/lib/systemd/system/statsherd-host.service /usr/lib/systemd/system/statsherd-host@.service \
	/usr/lib/sysusers.d/statsherd.conf /etc/munin/plugin-conf.d/statsherd /usr/share/statsherd /usr/share/doc/statsherd /var/lib/statsherd-gatherer /var/lib/statsherd /etc/statsherd; do
	[ -e "$f" ] && die "purge left $f"
done
step "ok: installed, ran, purged"
