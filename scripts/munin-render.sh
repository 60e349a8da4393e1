#!/usr/bin/env bash
# munin-render.sh - draw munin's own PNG graphs of a statsherd snapshot.
#
# Starts a private munin-node (its own config dir, a free loopback port)
# serving statsherd-munin, runs the munin master's munin-update under
# libfaketime for N consecutive 5-minute steps (running --between CMD
# between steps, so the snapshot can change), then munin-cron to draw the
# PNGs, prints where they are, and stops the munin-node it started.
# Nothing under /etc/munin or /var/lib/munin is touched.
#
# usage (as root; Debian packages munin munin-node rrdtool faketime):
#   scripts/munin-render.sh --plugin BIN --statsfile FILE [--steps N]
#       [--between CMD] [--out DIR] [--multigraph] [--graphs HCL]
#       [--stale-after SECONDS] [--port PORT]
#
#   --plugin BIN         the statsherd-munin binary (copied into DIR)
#   --statsfile FILE     the snapshot; user nobody must be able to read it
#   --steps N            5-minute steps to backfill (default 12 = 1 h)
#   --between CMD        shell command run before each step after the first
#                        (e.g. 'sleep 3' while a gatherer keeps writing)
#   --out DIR            working directory, kept afterwards (default: a new
#                        /tmp/statsherd-munin-render.XXXXXX)
#   --multigraph         one statsherd_multigraph link instead of one link
#                        per graph that has data
#   --graphs HCL         operator graphs file (env.graphs)
#   --stale-after SECS   env.stale_after for the plugin (default: the
#                        plugin's 300 s). statsherd-munin is a Go binary and
#                        reads the real clock (libfaketime does not reach Go),
#                        so a snapshot with old timestamps needs a large value.
#   --port PORT          munin-node port (default: a free one)
#
# Output: the last line is "PNGs: DIR/www/statsherd/<host>".
set -euo pipefail
export LC_ALL=C

die() { echo "munin-render: $*" >&2; exit 1; }

PLUGIN="" STATSFILE="" STEPS=12 BETWEEN="" OUT="" MULTI=0 GRAPHS="" STALE="" PORT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --plugin) PLUGIN=$2; shift 2 ;;
        --statsfile) STATSFILE=$2; shift 2 ;;
        --steps) STEPS=$2; shift 2 ;;
        --between) BETWEEN=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --multigraph) MULTI=1; shift ;;
        --graphs) GRAPHS=$2; shift 2 ;;
        --stale-after) STALE=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[ -n "$PLUGIN" ] || die "--plugin BIN is required"
[ -n "$STATSFILE" ] || die "--statsfile FILE is required"
[ -x "$PLUGIN" ] || die "plugin $PLUGIN is not an executable"
case "$STEPS" in ''|*[!0-9]*) die "--steps must be a number" ;; esac
[ "$STEPS" -ge 1 ] || die "--steps must be at least 1"
[ "$(id -u)" = 0 ] || die "run as root: munin-node runs plugins as user nobody, munin-update runs as user munin"
for p in munin-node runuser rrdtool perl; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || die "$p is missing (apt-get install munin munin-node rrdtool faketime)"
done
for p in /usr/share/munin/munin-update /usr/bin/munin-cron; do
    [ -x "$p" ] || die "$p is missing (apt-get install munin)"
done
FTLIB=""
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
    [ -r "$f" ] && { FTLIB=$f; break; }
done
[ -n "$FTLIB" ] || die "libfaketime is missing (apt-get install faketime)"
id munin >/dev/null 2>&1 || die "user munin is missing (apt-get install munin)"

STATSFILE=$(readlink -f "$STATSFILE")
runuser -u nobody -- test -r "$STATSFILE" ||
    die "user nobody cannot read $STATSFILE (munin runs plugins as nobody): make the file and every directory above it readable"
[ -z "$GRAPHS" ] || { GRAPHS=$(readlink -f "$GRAPHS"); runuser -u nobody -- test -r "$GRAPHS" || die "user nobody cannot read $GRAPHS"; }

if [ -z "$OUT" ]; then
    OUT=$(mktemp -d /tmp/statsherd-munin-render.XXXXXX)
fi
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
ETC=$OUT/etc
rm -rf "$ETC" "$OUT/db" "$OUT/www" "$OUT/log" "$OUT/run"
mkdir -p "$OUT/bin" "$ETC/plugins" "$ETC/plugin-conf.d" "$OUT/db" "$OUT/www" "$OUT/log" "$OUT/run"
chmod 755 "$OUT" "$OUT/bin" "$ETC" "$ETC/plugins" "$ETC/plugin-conf.d"
chown munin:munin "$OUT/db" "$OUT/www" "$OUT/log" "$OUT/run"
# The binary where nobody can run it, whatever directory it was built in.
install -m 0755 "$PLUGIN" "$OUT/bin/statsherd-munin"
BIN=$OUT/bin/statsherd-munin

if [ -z "$PORT" ]; then
    PORT=$(perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or die "$!\n"; print $s->sockport')
fi

{
    echo "# written by scripts/munin-render.sh"
    echo "[*]"
    echo "env.statsfile $STATSFILE"
    [ -z "$GRAPHS" ] || echo "env.graphs $GRAPHS"
    [ -z "$STALE" ] || echo "env.stale_after $STALE"
} > "$ETC/plugin-conf.d/statsherd"
chmod 644 "$ETC/plugin-conf.d/statsherd"

# Links: the multigraph one, or one per graph that has data (suggest).
if [ "$MULTI" = 1 ]; then
    "$BIN" install-links -multigraph -target "$BIN" "$ETC/plugins" >/dev/null
else
    env graphs="$GRAPHS" "$BIN" install-links -target "$BIN" "$ETC/plugins" >/dev/null
    suggested=$(env statsfile="$STATSFILE" graphs="$GRAPHS" "$ETC/plugins/tahoe_runtime_load_avg" suggest) ||
        die "statsherd-munin suggest failed (see above)"
    [ -n "$suggested" ] || die "no graph has data in $STATSFILE"
    for l in "$ETC"/plugins/*; do
        grep -qx "$(basename "$l")" <<<"$suggested" || rm -f "$l"
    done
fi
echo "munin-render: plugins: $(ls "$ETC/plugins" | tr '\n' ' ')"

HOST=statsherd-demo
cat > "$ETC/munin-node.conf" <<EOF
log_level 4
log_file $OUT/log/munin-node.log
pid_file $OUT/run/munin-node.pid
background 0
setsid 0
user root
group root
timeout 60
global_timeout 900
host_name $HOST
allow ^127\.0\.0\.1\$
host 127.0.0.1
port $PORT
EOF
cat > "$OUT/munin.conf" <<EOF
dbdir     $OUT/db
htmldir   $OUT/www
logdir    $OUT/log
rundir    $OUT/run
tmpldir   /etc/munin/templates
staticdir /etc/munin/static
graph_strategy cron
html_strategy cron

[statsherd;$HOST]
    address 127.0.0.1
    port $PORT
    use_node_name yes
EOF
chmod 644 "$ETC/munin-node.conf" "$OUT/munin.conf"

# munin-node reads its plugins from MUNIN_CONFDIR/plugins and
# MUNIN_CONFDIR/plugin-conf.d and has no option for them: start it with
# that variable pointing at our own directory.
NODE=$(command -v munin-node || echo /usr/sbin/munin-node)
NODE_PID=""
stop_node() {
    if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
        kill -TERM -- "-$NODE_PID" 2>/dev/null || kill -TERM "$NODE_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$NODE_PID" 2>/dev/null && kill -KILL -- "-$NODE_PID" 2>/dev/null || true
    fi
    NODE_PID=""
}
trap stop_node EXIT
trap 'exit 130' INT TERM
setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin perl -e '
    use Munin::Common::Defaults;
    $Munin::Common::Defaults::MUNIN_CONFDIR = shift @ARGV;
    my $node = shift @ARGV;
    do $node or die($@ || $!);
    exit main::main();' "$ETC" "$NODE" --config "$ETC/munin-node.conf" --foreground \
    > "$OUT/log/munin-node.out" 2>&1 &
NODE_PID=$!
for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    kill -0 "$NODE_PID" 2>/dev/null || die "munin-node exited: $(cat "$OUT/log/munin-node.out")"
    sleep 0.1
done
(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || die "munin-node did not listen on 127.0.0.1:$PORT"
echo "munin-render: munin-node (pid $NODE_PID) on 127.0.0.1:$PORT"

# Backfill: munin-update with a frozen fake clock at each 5-minute step,
# ending 5 to 10 minutes ago; then a real munin-cron run draws the graphs.
NOW=$(date +%s)
BASE=$(( (NOW / 300 - STEPS) * 300 ))
for i in $(seq 0 $((STEPS - 1))); do
    if [ "$i" -gt 0 ] && [ -n "$BETWEEN" ]; then
        bash -c "$BETWEEN" || die "--between command failed: $BETWEEN"
    fi
    ts=$((BASE + i * 300))
    runuser -u munin -- env TZ=UTC LD_PRELOAD="$FTLIB" \
        FAKETIME="$(TZ=UTC date -d "@$ts" '+%F %T')" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        /usr/share/munin/munin-update --config "$OUT/munin.conf" ||
        die "munin-update failed at step $((i + 1)) of $STEPS; see $OUT/log/munin-update.log"
    echo "munin-render: step $((i + 1))/$STEPS at $(TZ=UTC date -d "@$ts" '+%F %T') UTC"
done
[ -z "$BETWEEN" ] || bash -c "$BETWEEN" || die "--between command failed: $BETWEEN"
runuser -u munin -- /usr/bin/munin-cron --config "$OUT/munin.conf" > "$OUT/log/munin-cron.out" 2>&1 ||
    die "munin-cron failed: $(tail -5 "$OUT/log/munin-cron.out"); see $OUT/log"
stop_node

PNGDIR=$OUT/www/statsherd/$HOST
n=$(find "$PNGDIR" -name '*-day.png' 2>/dev/null | wc -l)
[ "$n" -gt 0 ] || die "munin drew no graphs; see $OUT/log/munin-update.log and munin-graph.log"
echo "munin-render: $n day graphs, e.g. $(find "$PNGDIR" -name '*-day.png' | sort | head -1)"
echo "PNGs: $PNGDIR"
