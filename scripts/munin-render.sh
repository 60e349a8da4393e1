#!/usr/bin/env bash
# munin-render.sh - draw munin's own PNG graphs of a statsherd snapshot.
#
# Starts a private munin-node (its own config dir, a free loopback port)
# serving statsherd-munin, runs the munin master's munin-update under
# libfaketime for N consecutive 5-minute steps (running --between CMD
# between steps, so the snapshot can change), then munin-cron's other
# steps (limits, html, graph) to draw the PNGs, and prints where they are.
# It stops the munin-node it started.
# Nothing under /etc/munin or /var/lib/munin is touched.
#
# usage (as root; Debian packages munin munin-node rrdtool faketime):
#   scripts/munin-render.sh [--plugin BIN] [--statsfile FILE] [--steps N]
#       [--between CMD] [--snapshots DIR] [--out DIR] [--multigraph]
#       [--graphs HCL] [--stale-after SECONDS] [--port PORT] [FILE [DIR]]
#
#   --plugin BIN         the statsherd-munin binary, copied into DIR
#                        (default: bin/statsherd-munin of this checkout,
#                        then statsherd-munin on PATH)
#   --statsfile FILE     the snapshot (default: the first argument, then
#                        $statsfile); user nobody must be able to read it
#   --steps N            5-minute steps to backfill (default 12 = 1 h, or
#                        the number of --snapshots files)
#   --between CMD        shell command run before each step after the first
#                        (e.g. 'sleep 3' while a gatherer keeps writing)
#   --snapshots DIR      feed munin one snapshot file of DIR per step, in
#                        name order (default: $SNAPSHOTS), e.g. the copies
#                        of successive gatherer rounds; each is copied to
#                        DIR/stats.json, which the plugin reads
#   --out DIR            working directory, kept afterwards (default: the
#                        second argument, then a new
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
# Output: "PNGs: DIR/www/statsherd/statsherd-demo"; munin's day/week/month/
# year PNGs are there, and zoom/<graph>.png shows just the backfilled
# window. A step at which no node of the snapshot is fresher than
# stale_after gives munin no values (-nan): a warning says so, and when
# every step was so the exit code is 1.
set -euo pipefail
export LC_ALL=C

die() { echo "munin-render: $*" >&2; exit 1; }

PLUGIN="" STATSFILE="" STEPS="" BETWEEN="" OUT="" MULTI=0 GRAPHS="" STALE="" PORT=""
SNAPDIR=${SNAPSHOTS:-}
POS=()
need() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --plugin) need "$@"; PLUGIN=$2; shift 2 ;;
        --statsfile) need "$@"; STATSFILE=$2; shift 2 ;;
        --steps) need "$@"; STEPS=$2; shift 2 ;;
        --between) need "$@"; BETWEEN=$2; shift 2 ;;
        --snapshots) need "$@"; SNAPDIR=$2; shift 2 ;;
        --out) need "$@"; OUT=$2; shift 2 ;;
        --multigraph) MULTI=1; shift ;;
        --graphs) need "$@"; GRAPHS=$2; shift 2 ;;
        --stale-after) need "$@"; STALE=$2; shift 2 ;;
        --port) need "$@"; PORT=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option '$1' (see --help)" ;;
        *) POS+=("$1"); shift ;;
    esac
done
[ "${#POS[@]}" -le 2 ] || die "too many arguments: ${POS[*]} (see --help)"
[ -n "$STATSFILE" ] || STATSFILE=${POS[0]:-${statsfile:-}}
[ -n "$OUT" ] || OUT=${POS[1]:-}
if [ -z "$PLUGIN" ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    if [ -x "$here/bin/statsherd-munin" ]; then PLUGIN=$here/bin/statsherd-munin
    else PLUGIN=$(command -v statsherd-munin || true); fi
    [ -n "$PLUGIN" ] || die "no statsherd-munin: give --plugin BIN (make build puts it in bin/)"
fi
[ -x "$PLUGIN" ] || die "plugin $PLUGIN is not an executable"
SNAPS=()
if [ -n "$SNAPDIR" ]; then
    [ -d "$SNAPDIR" ] || die "snapshots directory $SNAPDIR does not exist"
    while IFS= read -r f; do SNAPS+=("$f"); done < <(find "$SNAPDIR" -maxdepth 1 -type f | sort)
    [ "${#SNAPS[@]}" -gt 0 ] || die "no snapshot files in $SNAPDIR"
    [ -n "$STEPS" ] || STEPS=${#SNAPS[@]}
else
    [ -n "$STATSFILE" ] || die "no snapshot: give --statsfile FILE or --snapshots DIR"
fi
[ -n "$STEPS" ] || STEPS=12
case "$STEPS" in ''|*[!0-9]*) die "--steps must be a number" ;; esac
[ "$STEPS" -ge 1 ] || die "--steps must be at least 1"
[ "$(id -u)" = 0 ] || die "run as root: munin-node runs plugins as user nobody, munin-update runs as user munin"
for p in munin-node runuser rrdtool perl; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || die "$p is missing (apt-get install munin munin-node rrdtool faketime)"
done
for p in /usr/share/munin/munin-update /usr/share/munin/munin-limits /usr/share/munin/munin-html /usr/share/munin/munin-graph; do
    [ -x "$p" ] || die "$p is missing (apt-get install munin)"
done
FTLIB=""
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
    [ -r "$f" ] && { FTLIB=$f; break; }
done
[ -n "$FTLIB" ] || die "libfaketime is missing (apt-get install faketime)"
id munin >/dev/null 2>&1 || die "user munin is missing (apt-get install munin)"

if [ -n "$GRAPHS" ]; then
    [ -f "$GRAPHS" ] || die "graphs file $GRAPHS does not exist"
    GRAPHS=$(readlink -f "$GRAPHS")
    runuser -u nobody -- test -r "$GRAPHS" || die "user nobody cannot read $GRAPHS"
fi
[ "${#SNAPS[@]}" -gt 0 ] || [ -f "$STATSFILE" ] || die "snapshot $STATSFILE does not exist"

if [ -z "$OUT" ]; then
    OUT=$(mktemp -d /tmp/statsherd-munin-render.XXXXXX)
fi
mkdir -p "$OUT"
OUT=$(readlink -f "$OUT")
# use_snapshot N: step N reads the N-th snapshot file (the last one once
# they run out), copied where the plugin reads it, atomically.
use_snapshot() {
    local i=$1
    [ "$i" -lt "${#SNAPS[@]}" ] || i=$((${#SNAPS[@]} - 1))
    install -m 0644 "${SNAPS[$i]}" "$OUT/.stats.json.tmp"
    mv -f "$OUT/.stats.json.tmp" "$OUT/stats.json"
}
if [ "${#SNAPS[@]}" -gt 0 ]; then
    STATSFILE=$OUT/stats.json
    chmod 755 "$OUT"
    use_snapshot 0
fi
STATSFILE=$(readlink -f "$STATSFILE")
runuser -u nobody -- test -r "$STATSFILE" ||
    die "user nobody cannot read $STATSFILE (munin runs plugins as nobody): make the file and every directory above it readable"
ETC=$OUT/etc
rm -rf "$ETC" "$OUT/db" "$OUT/www" "$OUT/log" "$OUT/run" "$OUT/cgi-tmp"
mkdir -p "$OUT/bin" "$ETC/plugins" "$ETC/plugin-conf.d" "$OUT/db" "$OUT/www" "$OUT/log" "$OUT/run" "$OUT/cgi-tmp"
chmod 755 "$OUT" "$OUT/bin" "$ETC" "$ETC/plugins" "$ETC/plugin-conf.d"
chown munin:munin "$OUT/db" "$OUT/www" "$OUT/log" "$OUT/run" "$OUT/cgi-tmp"
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

# fresh: whether a fetch prints any value. A node older than stale_after
# is not fetched, so a snapshot of only such nodes draws every graph as
# -nan: say so rather than draw nothing in silence.
STALE_STEPS=0
fresh() {
    local link out
    for link in "$ETC"/plugins/*; do
        out=$(env statsfile="$STATSFILE" graphs="$GRAPHS" stale_after="$STALE" MUNIN_CAP_MULTIGRAPH=1 \
            "$link" 2>/dev/null) || return 0 # the error shows in munin's log
        ! grep -q '\.value ' <<<"$out" || return 0
    done
    return 1
}
warn_stale() {
    echo "munin-render: warning: step $1: no node of the snapshot is fresher than stale_after (${STALE:-300} s), so munin gets no values and every graph is -nan." \
        "statsherd-munin reads the real clock (libfaketime does not reach Go): for a snapshot with old timestamps pass --stale-after SECONDS." >&2
}

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
cgitmpdir $OUT/cgi-tmp
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
# ending 5 to 10 minutes ago.
NOW=$(date +%s)
BASE=$(( (NOW / 300 - STEPS) * 300 ))
for i in $(seq 0 $((STEPS - 1))); do
    if [ "$i" -gt 0 ] && [ -n "$BETWEEN" ]; then
        bash -c "$BETWEEN" || die "--between command failed: $BETWEEN"
    fi
    [ "${#SNAPS[@]}" -eq 0 ] || use_snapshot "$i"
    if ! fresh; then
        [ "$STALE_STEPS" -gt 0 ] || warn_stale $((i + 1))
        STALE_STEPS=$((STALE_STEPS + 1))
    fi
    ts=$((BASE + i * 300))
    runuser -u munin -- env TZ=UTC LD_PRELOAD="$FTLIB" \
        FAKETIME="$(TZ=UTC date -d "@$ts" '+%F %T')" FAKETIME_DONT_FAKE_MONOTONIC=1 \
        /usr/share/munin/munin-update --config "$OUT/munin.conf" ||
        die "munin-update failed at step $((i + 1)) of $STEPS; see $OUT/log/munin-update.log"
    echo "munin-render: step $((i + 1))/$STEPS at $(TZ=UTC date -d "@$ts" '+%F %T') UTC"
done
stop_node
# munin-cron without its munin-update (a real-time update now would add a
# flat last interval): limits, HTML, then the PNGs.
for step in "munin-limits" "munin-html" "munin-graph --cron"; do
    # shellcheck disable=SC2086 # step is a program and its option
    runuser -u munin -- /usr/share/munin/$step --config "$OUT/munin.conf" >> "$OUT/log/munin-cron.out" 2>&1 ||
        die "$step failed: $(tail -5 "$OUT/log/munin-cron.out"); see $OUT/log"
done

PNGDIR=$OUT/www/statsherd/$HOST
n=$(find "$PNGDIR" -name '*-day.png' 2>/dev/null | wc -l)
[ "$n" -gt 0 ] || die "munin drew no graphs; see $OUT/log/munin-update.log and munin-graph.log"
echo "munin-render: $n day graphs, e.g. $(find "$PNGDIR" -name '*-day.png' | sort | head -1)"

# The backfilled window is a sliver of a day graph: draw each graph over
# just that window too, with munin's own CGI grapher run by hand.
CGI=/usr/lib/munin/cgi/munin-cgi-graph
if [ -x "$CGI" ]; then
    mkdir -p "$PNGDIR/zoom"
    zs=$((BASE + 300)) ze=$((BASE + STEPS * 300))
    [ "$zs" -lt "$ze" ] || zs=$BASE
    for png in "$PNGDIR"/*-day.png; do
        svc=$(basename "$png" -day.png)
        runuser -u munin -- env MUNIN_CONFIG="$OUT/munin.conf" REQUEST_METHOD=GET \
            PATH_INFO="/statsherd/$HOST/$svc-pinpoint=$zs,$ze.png" QUERY_STRING="size_x=800&size_y=300" \
            "$CGI" 2>> "$OUT/log/munin-cgi-graph.err" |
            perl -0777 -ne 's/\A.*?\r?\n\r?\n//s; print' > "$PNGDIR/zoom/$svc.png"
        [ -s "$PNGDIR/zoom/$svc.png" ] || rm -f "$PNGDIR/zoom/$svc.png"
    done
    echo "munin-render: $(find "$PNGDIR/zoom" -name '*.png' | wc -l) graphs of the backfilled window in $PNGDIR/zoom"
fi
echo "PNGs: $PNGDIR"
if [ "$STALE_STEPS" -ge "$STEPS" ]; then
    die "no step had a fresh node: every graph is -nan (see the warning above)"
elif [ "$STALE_STEPS" -gt 0 ]; then
    echo "munin-render: warning: $STALE_STEPS of $STEPS steps had no fresh node (see above); their graphs are -nan there" >&2
fi
