#!/usr/bin/env bash
# scripts/demo.sh — `make demo`: the whole of statsherd on one machine.
#
# Builds everything (unless `make demo` just did), starts a gatherer and
# three hosts, each host next to a demo Tahoe node (examples/tahoe-node)
# reporting through the host's statsd listener and running every built-in
# producer (the machine's, `system`, too) plus the third-party example
# producer; lets a few poll rounds pass; prints the statsherd-munin output
# of all 26 Tahoe graphs and of the shipped machine graph set
# (munin/graphs/system.hcl); renders munin's PNG graphs of both when munin
# is installed (scripts/munin-render.sh); and
# stops everything it started, whatever happens (trap).
#
# Environment:
#   DEMO_DIR     where the demo lives (default: a new /tmp/statsherd-demo.*;
#                kept afterwards so the logs and stats.json can be read)
#   DEMO_POLL    the gatherer's poll interval (default 2s)
#   DEMO_ROUNDS  poll rounds to keep after every node is seen (default 12
#                when munin will draw graphs: one hour of 5-minute steps;
#                else 3)
#   DEMO_NODES   how many hosts (default 3)
#   BIN          where the binaries are (default ./bin)
#   NO_BUILD=1   use BIN as it is
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
POLL=${DEMO_POLL:-2s}
NODES=${DEMO_NODES:-3}
DEMO=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/statsherd-demo.XXXXXX")}
mkdir -p "$DEMO"
DEMO=$(cd "$DEMO" && pwd)
# munin runs its plugin as user nobody, which must reach the snapshots.
chmod 755 "$DEMO"

say() { printf '\033[1m== %s\033[0m\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

# --- everything started is stopped on exit, by pid ------------------------
PIDS=()
NAMES=()
start() { # start NAME LOGFILE CMD...: run CMD in the background
	local name=$1 log=$2
	shift 2
	"$@" >"$log" 2>&1 &
	PIDS+=("$!")
	NAMES+=("$name")
}
stop_all() {
	local rc=$?
	trap - EXIT INT TERM
	if [ "${#PIDS[@]}" -gt 0 ]; then
		say "stopping ${#PIDS[@]} processes"
		# In the reverse order of starting: each host (which stops its
		# plugins) and its node program, then the gatherer.
		for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
			kill -TERM "${PIDS[$i]}" 2>/dev/null || true
		done
		for _ in $(seq 100); do
			local alive=0
			for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
			[ "$alive" = 0 ] && break
			sleep 0.1
		done
		for i in "${!PIDS[@]}"; do
			if kill -0 "${PIDS[$i]}" 2>/dev/null; then
				echo "demo: ${NAMES[$i]} (pid ${PIDS[$i]}) did not stop in 10 s; killing it" >&2
				kill -KILL "${PIDS[$i]}" 2>/dev/null || true
			fi
		done
		wait 2>/dev/null || true
	fi
	echo "demo files: $DEMO"
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# munin draws PNGs when it is installed and we are root (munin-node runs
# plugins as nobody, munin-update as munin). Each poll round is then fed
# to munin as one 5-minute step.
have_munin() { command -v munin-cron >/dev/null 2>&1 || [ -x /usr/share/munin/munin-update ]; }
RENDER=0
if [ -x "$ROOT/scripts/munin-render.sh" ] && have_munin && [ "$(id -u)" = 0 ]; then
	RENDER=1
fi
if [ "$RENDER" = 1 ]; then ROUNDS=${DEMO_ROUNDS:-12}; else ROUNDS=${DEMO_ROUNDS:-3}; fi
# The demo nodes run fast enough that one poll round is five simulated
# minutes, so munin's graphs show realistic rates.
POLL_S=$(awk -v p="$POLL" 'BEGIN { v = p + 0; if (p ~ /ms$/) v /= 1000; else if (p ~ /m$/) v *= 60; else if (p ~ /h$/) v *= 3600; print v }')
SPEED=$(awk -v s="$POLL_S" 'BEGIN { print (s > 0 ? 300 / s : 1) }')

# --- build -----------------------------------------------------------------
if [ "${NO_BUILD:-}" != 1 ] && [ -z "${MAKELEVEL:-}" ]; then
	say "building"
	make -C "$ROOT" --no-print-directory build BIN="$BIN"
fi
for b in statsherd statsherd-munin tahoe-node example-producer example-output; do
	[ -x "$BIN/$b" ] || die "$BIN/$b is missing: run make build"
done

# --- ports -----------------------------------------------------------------
# Loopback ports for the statsd listeners and status pages, chosen among
# those nobody listens on now.
in_use() { # in_use PORT: is something listening on TCP or UDP PORT?
	if command -v ss >/dev/null; then
		ss -Htaun 2>/dev/null | awk '{print $5}' | grep -q ":$1\$"
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		in_use "$p" || { echo "$p"; return; }
	done
	die "no free port found"
}

# --- gatherer --------------------------------------------------------------
G=$DEMO/gatherer
say "gatherer in $G (poll every $POLL)"
if [ ! -e "$G/gatherer.hcl" ]; then
	"$BIN/statsherd" create-gatherer "$G" >"$DEMO/create-gatherer.log" 2>&1 ||
		{ cat "$DEMO/create-gatherer.log" >&2; die "statsherd create-gatherer failed"; }
fi
GSTATUS=$(free_port)
cat >"$G/gatherer.hcl" <<EOF
# Written by scripts/demo.sh: a gatherer that polls quickly.
nickname      = "demo-gatherer"
poll_interval = "$POLL"
poll_timeout  = "1500ms"

listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "127.0.0.1:$GSTATUS" }

output "munin" { path = "stats.json" }
# The third-party example output: every round as a line of JSON.
output "jsonl" {
  plugin = "$BIN/example-output"
  path   = "$DEMO/rounds.jsonl"
}
EOF
start gatherer "$DEMO/gatherer.log" "$BIN/statsherd" gatherer -basedir "$G"
for _ in $(seq 100); do
	[ -s "$G/stats_gatherer.furl" ] && break
	kill -0 "${PIDS[0]}" 2>/dev/null || { cat "$DEMO/gatherer.log" >&2; die "the gatherer exited"; }
	sleep 0.1
done
[ -s "$G/stats_gatherer.furl" ] || { cat "$DEMO/gatherer.log" >&2; die "no $G/stats_gatherer.furl after 10 s"; }
echo "furl: $(cat "$G/stats_gatherer.furl")"
echo "status: http://127.0.0.1:$GSTATUS/"

# --- hosts and their nodes -------------------------------------------------
for i in $(seq "$NODES"); do
	N=$DEMO/node$i
	mkdir -p "$N/storage" "$N/helper"
	STATSD=$(free_port)
	STATUS=$(free_port)
	nick=$(printf 'storage-%02d' "$i")
	cat >"$N/host.hcl" <<EOF
# Written by scripts/demo.sh: one Tahoe storage server + helper node.
nickname     = "$nick"
basedir      = "$N"
poll_timeout = "1200ms"

gatherer { furl_file = "$G/stats_gatherer.furl" }

reporting { statsd = "127.0.0.1:$STATSD" }
status { listen = "127.0.0.1:$STATUS" }

producer "load_monitor" {}
producer "cpu_monitor" {
  pidfile  = "$N/tahoe-node.pid"
  interval = "1s"
}
producer "uptime" {}
producer "disk" {
  path           = "$N/storage"
  reserved_space = 1000000000
}
producer "upload_helper" {
  incoming_dir = "$N/helper/CHK_incoming"
  encoding_dir = "$N/helper/CHK_encoding"
}
producer "process" { pidfile = "$N/tahoe-node.pid" }
# The machine (load_monitor and cpu_monitor above are Tahoe's measures of
# the host's timer and of the node process, not the machine's).
producer "system" {}
producer "exec" {
  command  = ["/bin/sh", "-c", "echo exec_demo.helper_dirs \$(ls '$N/helper' | wc -l); echo exec_demo.runs 1"]
  counters = ["exec_demo.runs"]
}
# The third-party example producer.
producer "dir_count" {
  plugin = "$BIN/example-producer"
  dir    = "$N/helper/CHK_incoming"
  prefix = "helper_incoming"
}
EOF
	say "$nick: host (statsd 127.0.0.1:$STATSD, status http://127.0.0.1:$STATUS/) and tahoe-node"
	# The node first, so its pidfile exists when cpu_monitor and process
	# start; what it sends before the host listens is lost, but it sends
	# every counter and stat at every step.
	start "tahoe-node $i" "$N/tahoe-node.log" "$BIN/tahoe-node" -statsd "127.0.0.1:$STATSD" -interval 500ms -speed "$SPEED" -seed "$i" -helper-dir "$N/helper"
	echo "${PIDS[-1]}" >"$N/tahoe-node.pid"
	start "host $i" "$N/host.log" "$BIN/statsherd" host -config "$N/host.hcl"
done

# --- wait for rounds -------------------------------------------------------
STATS=$G/stats.json
say "waiting for all $NODES nodes in $STATS"
nodes_seen() { # how many nodes in the snapshot have the demo node's stats
	[ -s "$STATS" ] || { echo 0; return; }
	grep -o '"storage_server.allocate"' "$STATS" | wc -l
}
deadline=$((SECONDS + 60))
until [ "$(nodes_seen)" -ge "$NODES" ]; do
	for i in "${!PIDS[@]}"; do
		kill -0 "${PIDS[$i]}" 2>/dev/null || die "${NAMES[$i]} exited; see the logs in $DEMO"
	done
	[ "$SECONDS" -lt "$deadline" ] || die "after 60 s, $(nodes_seen) of $NODES nodes in $STATS; see the logs in $DEMO"
	sleep 0.5
done
# Keep the snapshot of every round from here on: munin-render.sh can feed
# them to munin as successive 5-minute steps.
SNAPS=$DEMO/snapshots
mkdir -p "$SNAPS"
echo "all $NODES nodes seen; letting $ROUNDS more rounds pass (snapshots in $SNAPS)"
last="" kept=0
deadline=$((SECONDS + 60))
while [ "$kept" -le "$ROUNDS" ]; do
	m=$(stat -c %y "$STATS" 2>/dev/null || true)
	if [ -n "$m" ] && [ "$m" != "$last" ]; then
		last=$m
		cp "$STATS" "$SNAPS/$(printf 'round-%03d.json' "$kept")"
		kept=$((kept + 1))
	fi
	[ "$SECONDS" -lt "$deadline" ] || die "the snapshot stopped changing after $kept rounds; see $DEMO/gatherer.log"
	sleep 0.2
done

# --- munin -----------------------------------------------------------------
LINKS=$DEMO/munin-plugins
mkdir -p "$LINKS"
# Tahoe's graphs and the shipped machine graph set (env.graphs), copied
# where munin's user nobody can read it.
GRAPHSET=$DEMO/system.hcl
install -m 0644 "$ROOT/munin/graphs/system.hcl" "$GRAPHSET"
graphs="$GRAPHSET" "$BIN/statsherd-munin" install-links -force -target "$BIN/statsherd-munin" "$LINKS" >/dev/null
names=$(graphs="$GRAPHSET" "$BIN/statsherd-munin" graphs | cut -f1)
n=$(echo "$names" | wc -l)
say "statsherd-munin output for the $n graphs (statsfile=$STATS graphs=$GRAPHSET)"
missing=()
for g in $names; do
	echo "--- $g"
	statsfile=$STATS graphs=$GRAPHSET "$LINKS/$g" config | grep -E '^graph_title|\.label ' || true
	out=$(statsfile=$STATS graphs=$GRAPHSET "$LINKS/$g")
	echo "$out"
	values=$(echo "$out" | grep -cE '\.value [-0-9]' || true)
	[ "$values" -ge 2 ] || missing+=("$g ($values nodes with a value)")
done

PNGS=""
if [ "$RENDER" = 1 ]; then
	say "munin: drawing the graphs of $(ls "$SNAPS" | wc -l) rounds as 5-minute steps (scripts/munin-render.sh)"
	if "$ROOT/scripts/munin-render.sh" --plugin "$BIN/statsherd-munin" --snapshots "$SNAPS" \
		--graphs "$GRAPHSET" --out "$DEMO/munin" >"$DEMO/munin-render.log" 2>&1; then
		PNGS=$(sed -n 's/^PNGs: //p' "$DEMO/munin-render.log")
		grep '^munin-render: [0-9]' "$DEMO/munin-render.log" || true
	else
		tail -5 "$DEMO/munin-render.log" >&2
		die "munin-render.sh failed; see $DEMO/munin-render.log"
	fi
elif [ "$(id -u)" != 0 ]; then
	say "no PNGs: drawing munin graphs needs root (munin runs plugins as nobody)"
else
	say "no PNGs: munin is not installed (apt-get install munin munin-node rrdtool faketime)"
fi

say "summary"
echo "nodes in the snapshot: $(grep -o '"nickname": *"[^"]*"' "$STATS" | sort -u | tr '\n' ' ')"
[ -s "$DEMO/rounds.jsonl" ] && echo "rounds written by the example output: $(wc -l <"$DEMO/rounds.jsonl") ($DEMO/rounds.jsonl)"
if [ "${#missing[@]}" -gt 0 ]; then
	printf 'demo: graphs without values for at least 2 nodes:\n' >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "all $n graphs have values for at least 2 nodes"
[ -z "$PNGS" ] || echo "munin PNGs: $PNGS (zoom/ shows the demo's window)"
