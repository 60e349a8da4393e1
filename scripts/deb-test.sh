#!/usr/bin/env bash
# The Debian package's whole life, for real, on this machine (CI runs it as
# root after `make test`), its services run by systemd:
#   1. build it twice (make deb): a release and a newer build of the same
#      tree; run lintian on the first (no errors);
#   2. `apt-get install ./….deb`: the user, directories, units, man pages
#      and documents; both services enabled and not started (their
#      configuration is missing: ConditionPathExists=);
#   3. configure a gatherer and a host, start both, munin-run a graph
#      through links to the installed statsherd-munin;
#   4. upgrade to the newer build: both services restarted, running the
#      new binary;
#   5. `apt-get remove`: both stopped, no process runs a deleted binary;
#   6. `apt-get purge`: then a listing shows nothing of the package or its
#      services left (files, enable links, munin links, state).
# Without systemd as PID 1 (a container, a CI runner), the test boots a
# systemd of its own as PID 1 of a private PID and mount namespace (its own
# /run, a cgroup of its own) that starts nothing but the units it is told
# to, and runs apt-get, systemctl and munin-run inside it: the package's
# maintainer scripts see a running systemd and talk to it. Any failure ends
# the script with a message and a non-zero exit. It stops only what it
# started: its systemd, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

die() { echo "deb-test: FAIL: $*" >&2; exit 1; }
step() { echo "deb-test: $*"; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs and purges the package)"
installed() { dpkg-query -W -f '${Status}' statsherd 2>/dev/null | grep -q 'install ok installed'; }
dpkg-query -W -f '${Status}' statsherd 2>/dev/null | grep -q 'installed' &&
	die "a statsherd package is already installed here; this test installs and purges its own"
for d in /var/lib/statsherd-gatherer /var/lib/statsherd /etc/statsherd; do
	[ -e "$d" ] && die "$d exists already (left by an earlier install?); remove it to run this test"
done

scratch=$(mktemp -d /tmp/statsherd-deb-test.XXXXXX)
chmod 0755 "$scratch" # the services' user writes its logs here
made_policy=""
ours=""
sd_pid=""   # our own systemd (its PID in this namespace), if we booted one
sd_cgroups=()
in_sd=()    # prefix running a command where systemd runs
cleanup() {
	set +e
	# After a failure, leave no package of ours behind for the next run.
	if [ -n "$ours" ] && dpkg-query -W -f '${Status}' statsherd 2>/dev/null | grep -q installed; then
		"${in_sd[@]}" apt-get purge -y -q statsherd >/dev/null 2>&1
	fi
	if [ -n "$sd_pid" ]; then
		"${in_sd[@]}" systemctl poweroff >/dev/null 2>&1 || kill "$sd_pid"
		wait "$sd_pid" 2>/dev/null
		local g
		for g in "${sd_cgroups[@]}"; do
			find "$g" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	fi
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	rm -rf "$scratch"
}
trap cleanup EXIT

# No package installed here may start a service but ours (a machine may
# run its own munin-node, and our recommends might start theirs).
policy='#!/bin/sh
# deb-test: only statsherd'"'"'s services may be started or stopped.
case "$1" in statsherd-*) exit 0 ;; esac
exit 101
'
if [ -e /usr/sbin/policy-rc.d ]; then
	# Someone else's: ours goes over it, in our own systemd's mount
	# namespace only (below).
	printf '%s' "$policy" >"$scratch/policy-rc.d"
	chmod 0755 "$scratch/policy-rc.d"
else
	printf '%s' "$policy" >/usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	made_policy=1
fi

if [ -d /run/systemd/system ]; then
	step "systemd is this machine's PID 1: the services run under it"
else
	step "no systemd as PID 1: booting one in a private PID and mount namespace"
	cat >"$scratch/boot" <<'EOF'
#!/bin/bash
# PID 1 of a new PID namespace, in a mount namespace of its own: a private
# /run (so the host sees no /run/systemd/system), a target that pulls in
# nothing, services without default dependencies (no sysinit.target: no
# udev, tmpfiles or time sync on this machine), then systemd.
set -e
scratch=$1; shift
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/lock /run/systemd/system/service.d
if [ -e "$scratch/policy-rc.d" ]; then mount --bind "$scratch/policy-rc.d" /usr/sbin/policy-rc.d; fi
cat >/run/systemd/system/deb-test.target <<'T'
[Unit]
Description=statsherd deb-test: nothing but the units started by hand
DefaultDependencies=no
T
printf '[Unit]\nDefaultDependencies=no\n[Service]\nStandardOutput=append:%s/%%N.log\nStandardError=inherit\n' "$scratch" \
	>/run/systemd/system/service.d/50-deb-test.conf
for u in sysinit.target basic.target network.target network-online.target multi-user.target \
	timers.target sockets.target systemd-timesyncd.service; do
	ln -s /dev/null "/run/systemd/system/$u"
done
for g in "$@"; do mkdir -p "$g" && echo $$ >"$g/cgroup.procs"; done
exec env -i container=statsherd-deb-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	/lib/systemd/systemd --system --unit=deb-test.target --log-target=null </dev/null
EOF
	chmod 0755 "$scratch/boot"
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
		sd_cgroups=("/sys/fs/cgroup/statsherd-deb-test.$$")
	else
		for h in systemd unified; do
			[ -d "/sys/fs/cgroup/$h" ] && sd_cgroups+=("/sys/fs/cgroup/$h/statsherd-deb-test.$$")
		done
	fi
	[ "${#sd_cgroups[@]}" -gt 0 ] || die "no systemd cgroup hierarchy under /sys/fs/cgroup to give our systemd"
	unshare --pid --fork --mount --propagation private --mount-proc "$scratch/boot" "$scratch" "${sd_cgroups[@]}" \
		>"$scratch/systemd.log" 2>&1 &
	sd_pid=$!
	in_sd=(nsenter --target "$sd_pid" --mount --pid --)
	# nsenter needs the namespace's PID 1: unshare's child.
	ready=""
	for _ in $(seq 100); do
		child=$(cat "/proc/$sd_pid/task/$sd_pid/children" 2>/dev/null | awk '{print $1}')
		if [ -n "$child" ]; then
			in_sd=(nsenter --target "$child" --mount --pid --)
			state=$("${in_sd[@]}" systemctl is-system-running 2>/dev/null || true)
			if [ "$state" = running ]; then ready=1; break; fi
		fi
		sleep 0.1
	done
	[ -n "$ready" ] || die "our systemd did not come up within 10 s: $(cat "$scratch/systemd.log")"
fi
sd() { "${in_sd[@]}" "$@"; }

step "make deb (a release and a newer build of the same tree)"
release=$(cat internal/version/VERSION)
make -s deb >"$scratch/make-deb.log" 2>&1 || { cat "$scratch/make-deb.log" >&2; die "make deb failed"; }
deb1=$(ls -t dist/statsherd_*_"$(go env GOARCH)".deb | head -1)
[ -f "$deb1" ] || die "make deb made no dist/statsherd_*.deb"
cp "$deb1" "$scratch/"
deb1=$scratch/$(basename "$deb1")
make -s deb RELEASE="$release+debtest" >"$scratch/make-deb2.log" 2>&1 || { cat "$scratch/make-deb2.log" >&2; die "make deb RELEASE=$release+debtest failed"; }
deb2=$(ls -t dist/statsherd_*debtest*_"$(go env GOARCH)".deb | head -1)
cp "$deb2" "$scratch/" && rm -f "$deb2"
deb2=$scratch/$(basename "$deb2")
v1=$(dpkg-deb -f "$deb1" Version)
v2=$(dpkg-deb -f "$deb2" Version)
dpkg --compare-versions "$v2" gt "$v1" || die "the second build's version $v2 is not newer than $v1"
# Reproducible: the same tree built twice gives the same binaries.
mkdir "$scratch/x1" "$scratch/x2"
dpkg-deb -x "$deb1" "$scratch/x1" && dpkg-deb -x "$deb2" "$scratch/x2"
for b in statsherd statsherd-munin; do
	cmp -s "$scratch/x1/usr/bin/$b" "$scratch/x2/usr/bin/$b" || die "two builds of the same tree made different /usr/bin/$b"
	file "$scratch/x1/usr/bin/$b" | grep -q 'statically linked.*stripped' || die "/usr/bin/$b is not a static, stripped binary: $(file "$scratch/x1/usr/bin/$b")"
done

step "lintian $(basename "$deb1")"
lintian --fail-on error "$deb1" >"$scratch/lintian.log" 2>&1 || { cat "$scratch/lintian.log" >&2; die "lintian reports errors"; }
grep -E '^[EW]:' "$scratch/lintian.log" || true

step "apt-get install $(basename "$deb1")"
ours=1
sd apt-get install -y -q "$deb1" >"$scratch/install.log" 2>&1 || { cat "$scratch/install.log" >&2; die "apt-get install $deb1 failed"; }
installed || die "apt-get installed no statsherd package"
grep -i 'warn' "$scratch/install.log" | grep -iv 'policy-rc.d' && die "apt-get install warned (above)"

step "what it installed"
[ "$(command -v statsherd)" = /usr/bin/statsherd ] || die "statsherd on PATH is $(command -v statsherd), not the package's /usr/bin/statsherd"
statsherd version | grep -q '^statsherd ' || die "statsherd version: $(statsherd version 2>&1)"
statsherd-munin version | grep -q '^statsherd-munin ' || die "statsherd-munin version: $(statsherd-munin version 2>&1)"
getent passwd statsherd >/dev/null || die "the package made no user statsherd: $(tail -n 20 "$scratch/install.log")"
for d in /var/lib/statsherd-gatherer:755 /var/lib/statsherd:750 /etc/statsherd:755; do
	got=$(stat -c '%a' "${d%%:*}") || die "the package made no ${d%%:*}"
	[ "$got" = "${d##*:}" ] || die "${d%%:*} has mode $got, want ${d##*:}"
done
[ "$(stat -c %U /var/lib/statsherd-gatherer)" = statsherd ] || die "/var/lib/statsherd-gatherer is not statsherd's"
for f in /usr/lib/systemd/system/statsherd-gatherer.service /usr/lib/systemd/system/statsherd-host.service \
	/usr/lib/systemd/system/statsherd-host@.service /usr/lib/sysusers.d/statsherd.conf /etc/munin/plugin-conf.d/statsherd \
	/usr/share/statsherd/examples/host.hcl /usr/share/man/man1/statsherd.1.gz /usr/share/man/man1/statsherd-gatherer.1.gz \
	/usr/share/doc/statsherd/changelog.Debian.gz /usr/share/doc/statsherd/copyright; do
	[ -f "$f" ] || die "the package did not install $f"
done
# Every document the README links to, where its link points.
for l in $(grep -o '](\([^):#]*\))' /usr/share/doc/statsherd/README.md | sed 's/^](\(.*\))$/\1/' | sort -u); do
	[ -e "/usr/share/doc/statsherd/$l" ] || die "the README links to $l, which the package does not ship"
done
man -l /usr/share/man/man1/statsherd-validate.1.gz 2>/dev/null | grep -q 'statsherd validate' || die "man statsherd-validate does not show the command's help"
# systemd-analyze also judges the units multi-user.target wants on this
# machine (and exits 1 for them): only what it says of ours counts.
out=$(systemd-analyze verify --man=no /usr/lib/systemd/system/statsherd-gatherer.service /usr/lib/systemd/system/statsherd-host.service 2>&1 | grep statsherd || true)
[ -z "$out" ] || die "systemd-analyze verify of the installed units says: $out"
for u in statsherd-gatherer statsherd-host; do
	state=$(sd systemctl is-enabled "$u" 2>&1 || true)
	[ "$state" = enabled ] || die "$u is '$state' after install, want enabled"
	active=$(sd systemctl is-active "$u" 2>&1 || true)
	[ "$active" = inactive ] || die "$u is '$active' after install without its configuration, want inactive"
	[ "$(sd systemctl show -P ConditionResult "$u")" = no ] || die "$u: postinst did not try to start it (its ConditionPathExists= was never checked)"
done

step "configure a gatherer and a host, start both, munin-run through the installed plugin"
runuser -u statsherd -- statsherd create-gatherer /var/lib/statsherd-gatherer >"$scratch/create.log" 2>&1 ||
	{ cat "$scratch/create.log" >&2; die "create-gatherer as statsherd failed"; }
printf 'poll_interval = "1s"\nstatus { listen = "127.0.0.1:0" }\n' >>/var/lib/statsherd-gatherer/gatherer.hcl
install -m 0640 -g statsherd /var/lib/statsherd-gatherer/stats_gatherer.furl /etc/statsherd/
sed -e 's/"storage-01"/"deb-test"/' -e 's/127.0.0.1:8125/127.0.0.1:0/' -e 's/127.0.0.1:8127/127.0.0.1:0/' \
	/usr/share/statsherd/examples/host.hcl >/etc/statsherd/host.hcl
statsherd validate /etc/statsherd/host.hcl >"$scratch/validate.log" 2>&1 || { cat "$scratch/validate.log" >&2; die "the example host.hcl does not validate"; }
sd systemctl start statsherd-gatherer statsherd-host || die "systemctl start failed: $(sd systemctl status --no-pager statsherd-gatherer statsherd-host 2>&1 | tail -n 20)"
munin_links=""
if [ -d /etc/munin/plugins ]; then
	plugins=/etc/munin/plugins
	munin_links=1
else
	plugins=$scratch/plugins
	mkdir -m 0755 "$plugins"
fi
statsherd-munin install-links "$plugins" >/dev/null
[ "$(readlink "$plugins/tahoe_runtime_load_avg")" = /usr/bin/statsherd-munin ] ||
	die "install-links made $(readlink "$plugins/tahoe_runtime_load_avg"), want a link to /usr/bin/statsherd-munin"
value=""
for _ in $(seq 300); do
	value=$(sd munin-run --servicedir "$plugins" tahoe_runtime_load_avg 2>"$scratch/munin-run.err" | grep '^deb_test_.*\.value [0-9]' || true)
	[ -n "$value" ] && break
	sleep 0.2
done
[ -n "$value" ] || die "munin-run tahoe_runtime_load_avg printed no value for the host deb-test within 60 s: $(cat "$scratch/munin-run.err")
$(sd systemctl status --no-pager statsherd-gatherer statsherd-host 2>&1 | tail -n 30)"
step "munin-run tahoe_runtime_load_avg: $value"

# mainpids prints "unit pid" for both services; pids are our systemd's.
mainpid() { sd systemctl show -P MainPID "$1"; }
# runs_installed UNIT: its main process runs the /usr/bin/statsherd that is
# installed now (the same file, not a deleted one).
runs_installed() {
	local pid exe
	pid=$(mainpid "$1")
	[ "$pid" != 0 ] || die "$1 has no main process: $(sd systemctl status --no-pager "$1" 2>&1 | tail -n 20)"
	exe=$(sd readlink "/proc/$pid/exe")
	[ "$exe" = /usr/bin/statsherd ] || die "$1 (pid $pid) runs '$exe', not /usr/bin/statsherd"
	[ "$(sd stat -L -c %i "/proc/$pid/exe")" = "$(stat -c %i /usr/bin/statsherd)" ] ||
		die "$1 (pid $pid) runs a /usr/bin/statsherd that is no longer the installed one"
}
for u in statsherd-gatherer statsherd-host; do runs_installed "$u"; done
before_g=$(mainpid statsherd-gatherer)
before_h=$(mainpid statsherd-host)

step "upgrade to $(basename "$deb2")"
sd apt-get install -y -q "$deb2" >"$scratch/upgrade.log" 2>&1 || { cat "$scratch/upgrade.log" >&2; die "apt-get install $deb2 (the upgrade) failed"; }
[ "$(dpkg-query -W -f '${Version}' statsherd)" = "$v2" ] || die "after the upgrade, the installed version is $(dpkg-query -W -f '${Version}' statsherd), want $v2"
for u in statsherd-gatherer statsherd-host; do
	[ "$(sd systemctl is-active "$u")" = active ] || die "$u is not running after the upgrade: $(sd systemctl status --no-pager "$u" 2>&1 | tail -n 20)"
	runs_installed "$u"
done
[ "$(mainpid statsherd-gatherer)" != "$before_g" ] || die "the upgrade did not restart statsherd-gatherer (pid $before_g)"
[ "$(mainpid statsherd-host)" != "$before_h" ] || die "the upgrade did not restart statsherd-host (pid $before_h)"
step "both services restarted by the upgrade, running the new /usr/bin/statsherd"

# deleted_binaries lists the processes (anywhere on this machine) that run
# a deleted file of the package.
deleted_binaries() {
	local p exe
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		case "$exe" in /usr/bin/statsherd*" (deleted)") echo "${p#/proc/} $exe" ;; esac
	done
}

step "apt-get remove statsherd"
sd apt-get remove -y -q statsherd >"$scratch/remove.log" 2>&1 || { cat "$scratch/remove.log" >&2; die "apt-get remove statsherd failed"; }
for u in statsherd-gatherer statsherd-host; do
	state=$(sd systemctl is-active "$u" 2>&1 || true)
	[ "$state" = inactive ] || die "$u is '$state' after remove, want inactive (prerm stops it)"
done
left=$(deleted_binaries)
[ -z "$left" ] || die "after remove, processes run a deleted binary of the package: $left"
dpkg-query -W -f '${Status}' statsherd | grep -q config-files || die "after remove, statsherd is '$(dpkg-query -W -f '${Status}' statsherd)', want its config files kept"

step "apt-get purge statsherd"
sd apt-get purge -y -q statsherd >"$scratch/purge.log" 2>&1 || { cat "$scratch/purge.log" >&2; die "apt-get purge statsherd failed"; }
ours=""
grep '^statsherd: purge keeps' "$scratch/purge.log" || die "purge did not say what it keeps: $(cat "$scratch/purge.log")"
if [ -n "$munin_links" ]; then
	grep '^statsherd: removed [0-9]* munin plugin links' "$scratch/purge.log" || die "purge did not say it removed the munin links"
fi
dpkg-query -W -f '${Status}' statsherd 2>/dev/null | grep -q 'installed' && die "statsherd is still known to dpkg after purge: $(dpkg-query -W -f '${Status}' statsherd)"

step "what is left of statsherd (the listing must be empty)"
# Files and directories named for it, links to what it installed (enable
# links, munin links), deb-systemd-helper's state, units systemd still
# knows, and processes running its deleted binaries.
listing=$(
	find /etc /usr /var/lib /var/cache /var/log /opt /srv -xdev -name '*statsherd*' 2>/dev/null
	sd find /run -name '*statsherd*' 2>/dev/null
	find /etc -xdev -type l -lname '*statsherd*' 2>/dev/null
	sd systemctl list-units --all --plain --no-legend 'statsherd*' 2>/dev/null
	sd systemctl list-unit-files --plain --no-legend 'statsherd*' 2>/dev/null
	deleted_binaries
)
printf '%s\n' "${listing:-(nothing)}" | sed 's/^/deb-test:   /'
[ -z "$listing" ] || die "purge left the above"
getent passwd statsherd >/dev/null || die "purge removed the user statsherd, which it says it keeps"
step "ok: installed, configured, started, upgraded (restarted), removed (stopped), purged (nothing left)"
