#!/bin/sh
# bench-footprint: statsherd's footprint side by side with the agents it
# sits beside, on this machine's Debian packages (`make bench-footprint`).
#
# 1. The idle host: `statsherd host` with the five built-in producers,
#    polled by a statsherd gatherer every HOST_INTERVAL, beside collectd
#    (load, cpu, uptime, df, processes, Interval HOST_INTERVAL, sending to
#    a network server) and prometheus-node-exporter (default collectors,
#    scraped every HOST_INTERVAL), all three at once, over HOST_SECONDS.
#    Per program, summed over the process and all its descendants: the
#    processes, VmRSS and PSS (smaps_rollup; the mean and the largest of
#    a reading every MEM_SAMPLE seconds over the window), the peak RSS
#    over the window (each process's VmHWM, reset at the window's start
#    through clear_refs, summed: what a sample every MEM_SAMPLE seconds
#    can miss, such as a poll's pages dropped soon after), the anonymous
#    memory (RssAnon: the mean, and the last reading, once the processes
#    have collected a few times) and CPU a minute
#    (the tasks' schedstat run time, to the nanosecond; /proc/PID/stat's
#    ticks of 10 ms are too coarse for an idle minute).
# 2. The gatherer: for each FLEETS size N, statsherd-loadgen's N hosts of
#    100 stats polled every GATHER_INTERVAL by a gatherer with the munin
#    output, beside vmagent scraping N targets of the same 100 stats
#    (`statsherd-loadgen targets`) at the same interval and remote-writing
#    them to a sink, both at once. RSS and PSS of the gatherer and its
#    output plugins together against vmagent's, sampled every second at
#    the same moments once every host is in and the load tool measures
#    (its first complete round, connections and start-up, is left out);
#    statsherd's also at each round's end (the load tool's rows) and its
#    peak during a round; its round time per host over the rounds, their
#    range and median.
#
# Everything runs on free loopback ports in a temporary directory, and the
# script stops only the processes it started, by PID. It needs bin/ built
# (make build) and the Debian packages collectd, prometheus-node-exporter
# and victoria-metrics (vmagent). The machine's other load moves the CPU
# figures: compare the columns of one run, and repeat (REPEAT).
#
# Environment: HOST_SECONDS (300), HOST_WARMUP (15: seconds after start
# before the idle host's window opens; 90 or more leaves the first sparse
# poll, after which a polled process keeps its polls' pages, out of it,
# to measure a long-running host's minute), HOST_INTERVAL (60), FLEETS ("1000
# 10000"), GATHER_INTERVAL (20), GATHER_ROUNDS (4), REPEAT (1),
# LOAD_MONITOR_INTERVAL (unset; "5s" adds a host whose load_monitor has
# interval = "5s"), LOAD_MONITOR (unset; HCL attributes of load_monitor
# for that second host instead, e.g. 'idle_interval = "1s"' for a
# load_monitor waking every second as Tahoe's did), MEM_SAMPLE (5),
# SKIP_HOST / SKIP_GATHERER (set to skip a part), BIN (./bin), KEYS
# (a key cache directory for the load tool's hosts, default in /tmp),
# KEEP (a directory to keep the load tool's rows and the memory samples
# of each gatherer run in).
set -eu

BIN=${BIN:-$(pwd)/bin}
HOST_SECONDS=${HOST_SECONDS:-300}
HOST_WARMUP=${HOST_WARMUP:-15}
HOST_INTERVAL=${HOST_INTERVAL:-60}
FLEETS=${FLEETS:-"1000 10000"}
GATHER_INTERVAL=${GATHER_INTERVAL:-20}
GATHER_ROUNDS=${GATHER_ROUNDS:-4}
REPEAT=${REPEAT:-1}
KEYS=${KEYS:-/tmp/statsherd-bench-footprint-keys}
LOAD_MONITOR_INTERVAL=${LOAD_MONITOR_INTERVAL:-}
LOAD_MONITOR=${LOAD_MONITOR:-}
if [ -n "$LOAD_MONITOR_INTERVAL" ] && [ -z "$LOAD_MONITOR" ]; then
	LOAD_MONITOR="interval = \"$LOAD_MONITOR_INTERVAL\""
fi
KEEP=${KEEP:-}
MEM_SAMPLE=${MEM_SAMPLE:-5}

need() {
	command -v "$1" >/dev/null 2>&1 || { echo "bench-footprint: $1 not found: $2" >&2; exit 1; }
}
need "$BIN/statsherd" "run make build first"
need "$BIN/statsherd-loadgen" "run make build first"
need python3 "needed to pick free ports"

T=$(mktemp -d /tmp/statsherd-footprint.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
	done
	PIDS=""
}
trap 'cleanup; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# tree PID: PID and every process below it.
tree() {
	set -- "$1"
	out=$1
	queue=$1
	while [ -n "$queue" ]; do
		next=""
		for q in $queue; do
			for c in $(cat /proc/"$q"/task/*/children 2>/dev/null); do
				out="$out $c"
				next="$next $c"
			done
		done
		queue=$next
	done
	echo "$out"
}

# runtime_ns PID...: the run time of every task of the processes, in ns.
runtime_ns() {
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done | awk '{s += $1} END {printf "%d\n", s}'
}

# peak_reset PID...: each process's peak RSS (VmHWM) back to its RSS now.
peak_reset() {
	for p in "$@"; do echo 5 >/proc/"$p"/clear_refs 2>/dev/null || true; done
}

# peak PID...: the processes' peak RSS (VmHWM) since peak_reset, KiB,
# summed (the processes need not peak at the same moment: an upper bound).
peak() {
	for p in "$@"; do awk '/^VmHWM:/ {print $2}' /proc/"$p"/status 2>/dev/null; done | awk '{s += $1} END {printf "%d\n", s}'
}

# anon PID...: the processes' anonymous resident memory (RssAnon: heap,
# stacks, the runtime's metadata, written data), KiB, summed.
anon() {
	for p in "$@"; do awk '/^RssAnon:/ {print $2}' /proc/"$p"/status 2>/dev/null; done | awk '{s += $1} END {printf "%d\n", s}'
}

# mem PID...: "processes rss_KiB pss_KiB" of the processes together.
mem() {
	n=0 rss=0 pss=0
	for p in "$@"; do
		[ -r /proc/"$p"/status ] || continue
		n=$((n + 1))
		r=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status)
		s=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null || echo 0)
		rss=$((rss + ${r:-0}))
		pss=$((pss + ${s:-0}))
	done
	echo "$n $rss $pss"
}

# gatherer_of PID: the statsherd gatherer the load tool PID started.
gatherer_of() {
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		case " $(tr '\0' ' ' </proc/"$c"/cmdline 2>/dev/null)" in
		*" gatherer "*) echo "$c"; return ;;
		esac
	done
}

waitfile() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ] || { echo "bench-footprint: $1 never appeared" >&2; exit 1; }
}

# start_host DIR FURL LOAD_MONITOR_ATTRS: a host with the five built-in
# producers in DIR, reporting to the gatherer of FURL; prints its PID.
start_host() {
	mkdir -p "$1"
	cat >"$1/host.hcl" <<EOF
nickname  = "footprint"
basedir   = "$1"
log_level = "warn"
gatherer { furl_file = "$2" }
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "load_monitor" { $3 }
producer "uptime" {}
producer "cpu_monitor" {}
producer "process" {}
producer "disk" { path = "/" }
EOF
	# The host runs its own copy of the binary, as on a node: PSS splits a
	# page among the processes mapping it, and the gatherer here (or any
	# other statsherd on this machine) would otherwise share its pages.
	cp "$BIN/statsherd" "$1/statsherd"
	sync "$1/statsherd"
	"$1/statsherd" host -config "$1/host.hcl" >"$1/out" 2>"$1/log" </dev/null &
	echo $!
}

host_part() {
	run=$1
	d=$T/host$run
	mkdir -p "$d/gatherer" "$d/host" "$d/collectd"
	# The gatherer polling the host (not measured).
	cat >"$d/gatherer/gatherer.hcl" <<EOF
poll_interval = "${HOST_INTERVAL}s"
log_level     = "warn"
listen { address = "127.0.0.1" }
status { listen = "127.0.0.1:0" }
output "stdout" { path = "/dev/null" }
EOF
	"$BIN/statsherd" gatherer -basedir "$d/gatherer" -create >"$d/gatherer/out" 2>"$d/gatherer/log" &
	gpid=$!
	PIDS="$PIDS $gpid"
	waitfile "$d/gatherer/stats_gatherer.furl"
	hpid=$(start_host "$d/host" "$d/gatherer/stats_gatherer.furl" "")
	# With LOAD_MONITOR (or LOAD_MONITOR_INTERVAL), a second host whose
	# load_monitor block has those attributes.
	lpid=""
	if [ -n "$LOAD_MONITOR" ]; then
		lpid=$(start_host "$d/host-lm" "$d/gatherer/stats_gatherer.furl" "$LOAD_MONITOR")
	fi
	PIDS="$PIDS $hpid $lpid"
	# collectd: the same five kinds of reading, sent on as a host would.
	cport=$(freeport)
	cat >"$d/collectd/collectd.conf" <<EOF
Hostname "footprint"
FQDNLookup false
BaseDir "$d/collectd"
PIDFile "$d/collectd/collectd.pid"
Interval $HOST_INTERVAL
LoadPlugin load
LoadPlugin cpu
LoadPlugin uptime
LoadPlugin df
LoadPlugin processes
LoadPlugin network
<Plugin df>
  MountPoint "/"
</Plugin>
<Plugin network>
  Server "127.0.0.1" "$cport"
</Plugin>
EOF
	collectd -f -C "$d/collectd/collectd.conf" >"$d/collectd/log" 2>&1 &
	cpid=$!
	PIDS="$PIDS $cpid"
	nport=$(freeport)
	prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" >"$d/node_exporter.log" 2>&1 &
	npid=$!
	PIDS="$PIDS $npid"
	sleep "$HOST_WARMUP" # start-up settles; the gatherer's first poll is done
	curl -s -o /dev/null "http://127.0.0.1:$nport/metrics" || true
	hb=$(runtime_ns $(tree $hpid)) cb=$(runtime_ns $(tree $cpid)) nb=$(runtime_ns $(tree $npid))
	lb=0
	[ -n "$lpid" ] && lb=$(runtime_ns $(tree $lpid))
	for p in $hpid $lpid $cpid $npid; do peak_reset $(tree $p); done
	start=$(date +%s)
	el=0
	scraped=0
	# Memory is sampled every MEM_SAMPLE seconds over the whole window
	# (mean and largest): what a process maps moves within an interval
	# (a poll brings pages back, a trim drops them), so one reading at
	# the end would be a matter of timing.
	while [ "$el" -lt "$HOST_SECONDS" ]; do
		for x in "host $hpid" "lm $lpid" "collectd $cpid" "node $npid"; do
			set -- $x
			[ -n "${2:-}" ] && echo "$(mem $(tree $2)) $(anon $(tree $2))" >>"$d/mem.$1"
		done
		left=$((HOST_SECONDS - el))
		sleep $((left < MEM_SAMPLE ? left : MEM_SAMPLE))
		el=$(($(date +%s) - start))
		# node_exporter is scraped as Prometheus would, once an interval.
		if [ $((el / HOST_INTERVAL)) -gt "$scraped" ]; then
			curl -s -o /dev/null "http://127.0.0.1:$nport/metrics" || true
			scraped=$((el / HOST_INTERVAL))
		fi
	done
	ha=$(runtime_ns $(tree $hpid)) ca=$(runtime_ns $(tree $cpid)) na=$(runtime_ns $(tree $npid))
	rows="statsherd-host host $hb $ha $(peak $(tree $hpid))"
	if [ -n "$lpid" ]; then
		la=$(runtime_ns $(tree $lpid))
		rows="$rows,statsherd-lm lm $lb $la $(peak $(tree $lpid))"
	fi
	rows="$rows,collectd collectd $cb $ca $(peak $(tree $cpid)),node_exporter node $nb $na $(peak $(tree $npid))"
	for p in $hpid $lpid $cpid $npid; do
		kill -0 $p 2>/dev/null || { echo "bench-footprint: process $p ended early; logs in $d" >&2; tail -5 "$d"/*/log "$d"/*.log >&2; exit 1; }
	done
	printf '%s\n' "run $run: ${el}s, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	if [ -n "$lpid" ]; then printf '%s\n' "statsherd-lm: load_monitor { $LOAD_MONITOR }"; fi
	echo "$rows" | tr ',' '\n' | while read -r x; do
		set -- $x
		awk -v name="$1" -v b="$3" -v a="$4" -v hwm="$5" -v el="$el" '{
			k++; n = $1; r += $2; p += $3; an += $4; alast = $4
			if ($2 > rmax) rmax = $2
			if ($3 > pmax) pmax = $3
		} END {
			printf "HOST %-17s %9d %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %9.1f %14.1f\n", name, n, r/k/1024, rmax/1024, hwm/1024, p/k/1024, pmax/1024, an/k/1024, alast/1024, (a-b)/1e6/(el/60)
		}' "$d/mem.$2"
	done
	cleanup
}

gatherer_part() {
	run=$1 n=$2
	d=$T/g$run-$n
	mkdir -p "$d/vmagent"
	procs=1
	[ "$n" -gt 2000 ] && procs=2
	# vmagent and the targets it scrapes.
	# Stopped by PID, as everything here (cleanup). (Until issue 26's
	# fourth stop it ran with -until-stdin-eof and stdin from /dev/zero,
	# which never ends but never stops sending either: it spent a whole
	# core reading zeros, beside the gatherer, its hosts and vmagent.)
	"$BIN/statsherd-loadgen" targets -n "$n" -k 100 -sd "$d/targets.json" \
		>"$d/targets.out" 2>"$d/targets.log" </dev/null &
	tpid=$!
	PIDS="$PIDS $tpid"
	waitfile "$d/targets.out"
	taddr=$(head -1 "$d/targets.out")
	cat >"$d/vmagent/scrape.yml" <<EOF
global:
  scrape_interval: ${GATHER_INTERVAL}s
  scrape_timeout: $((GATHER_INTERVAL * 8 / 10))s
scrape_configs:
  - job_name: loadgen
    file_sd_configs:
      - files: ["$d/targets.json"]
EOF
	vport=$(freeport)
	vmagent -promscrape.config="$d/vmagent/scrape.yml" -remoteWrite.url="http://$taddr/api/v1/write" \
		-remoteWrite.tmpDataPath="$d/vmagent/data" -httpListenAddr="127.0.0.1:$vport" \
		-loggerLevel=ERROR >"$d/vmagent/log" 2>&1 &
	vpid=$!
	PIDS="$PIDS $vpid"
	# The gatherer under the same load, at the same time: the load tool
	# prints one row a round, RSS of the gatherer and plugins together in
	# all_MiB (column 10), total_s (6), answers (2).
	"$BIN/statsherd-loadgen" -n "$n" -k 100 -interval "${GATHER_INTERVAL}s" -rounds "$GATHER_ROUNDS" \
		-procs $procs -keys "$KEYS" -output munin >"$d/loadgen.out" 2>"$d/loadgen.log" &
	lpid=$!
	PIDS="$PIDS $lpid"
	# Memory of both, every second once the load tool measures its first
	# round (every host in): RSS and PSS of vmagent's and of the gatherer's
	# process trees, at the same moments. vmagent's CPU once a round.
	: >"$d/vmagent.samples"
	: >"$d/mem.samples"
	vb=$(runtime_ns $(tree $vpid))
	tick=0
	while kill -0 $lpid 2>/dev/null; do
		sleep 1
		tick=$((tick + 1))
		if [ $((tick % GATHER_INTERVAL)) -eq 0 ]; then
			echo "$(runtime_ns $(tree $vpid)) $(mem $(tree $vpid))" >>"$d/vmagent.samples"
		fi
		grep -q '^[0-9]' "$d/loadgen.out" 2>/dev/null || continue
		g=$(gatherer_of $lpid)
		[ -n "$g" ] && echo "$(mem $(tree $g)) $(mem $(tree $vpid))" >>"$d/mem.samples"
	done
	wait $lpid || { echo "bench-footprint: the load tool failed; its output:" >&2; cat "$d/loadgen.out" "$d/loadgen.log" >&2; exit 1; }
	scrapes=$(curl -s "http://127.0.0.1:$vport/metrics" | awk '$1 ~ /^vm_promscrape_targets/ && /status="up"/ {s += $NF} END {print s+0}')
	printf '%s\n' "run $run, $n hosts/targets: load average $(cut -d' ' -f1-3 /proc/loadavg); vmagent targets up: $scrapes"
	# Memory, averaged over the seconds measured, and its largest.
	# mem.samples: statsherd's "n rss pss", vmagent's "n rss pss".
	sm=$(awk '{ sr += $2; sp += $3; vr += $5; vp += $6; k++
		if ($2 > srmax) srmax = $2; if ($5 > vrmax) vrmax = $5
	} END {
		if (!k) { print "- - - - - -"; exit }
		printf "%.1f %.1f %.1f %.1f %.1f %.1f", sr/k/1024, srmax/1024, sp/k/1024, vr/k/1024, vrmax/1024, vp/k/1024
	}' "$d/mem.samples")
	set -- $sm
	# statsherd: the measured rounds (rows starting with a number), RSS at
	# each round's end and the peak during it.
	# ms per host: the range over the rounds and their median (one slow
	# round, a core taken by something else, moves the range, not the
	# median).
	awk -v n="$n" -v rss="$1" -v rmax="$2" -v pss="$3" '$1 ~ /^[0-9]+$/ && NF >= 12 {
		m = $10; q = $11; t = $6 * 1000 / n; c = $12 + $13
		if (!k++ || m < mmin) mmin = m; if (m > mmax) mmax = m
		if (k == 1 || q > qmax) qmax = q
		if (k == 1 || t < tmin) tmin = t; if (t > tmax) tmax = t
		if (k == 1 || c < cmin) cmin = c; if (c > cmax) cmax = c
		ts[k] = t
	} END {
		if (!k) { print "GATH no rounds measured"; exit }
		for (i = 2; i <= k; i++) { x = ts[i]; for (j = i - 1; j >= 1 && ts[j] > x; j--) ts[j + 1] = ts[j]; ts[j + 1] = x }
		med = k % 2 ? ts[(k + 1) / 2] : (ts[k / 2] + ts[k / 2 + 1]) / 2
		printf "GATH %-15s %7d %8s %8s %8s %9.1f-%-7.1f %7.1f %10.3f-%-6.3f %7.3f %9.2f-%-6.2f\n", "statsherd+munin", n, rss, rmax, pss, mmin, mmax, qmax, tmin, tmax, med, cmin, cmax
	}' "$d/loadgen.out"
	# vmagent: CPU from the second sample on (start-up, first scrapes).
	awk -v n="$n" -v rss="$4" -v rmax="$5" -v pss="$6" 'NR > 1 {
		c = ($1 - prev) / 1e9
		if (!k++ || c < cmin) cmin = c; if (c > cmax) cmax = c
	} { prev = $1 } END {
		if (!k) { print "GATH vmagent: too few samples"; exit }
		printf "GATH %-15s %7d %8s %8s %8s %17s %7s %17s %7s %9.2f-%-6.2f\n", "vmagent", n, rss, rmax, pss, "-", "-", "-", "-", cmin, cmax
	}' "$d/vmagent.samples"
	if [ -n "$KEEP" ]; then
		mkdir -p "$KEEP"
		cp "$d/loadgen.out" "$KEEP/loadgen-$run-$n.out"
		cp "$d/mem.samples" "$KEEP/mem-$run-$n.samples"
	fi
	cleanup
}

out=$T/out
: >"$out"
r=1
while [ $r -le "$REPEAT" ]; do
	if [ -z "${SKIP_HOST:-}" ]; then
		need collectd "apt-get install collectd"
		need prometheus-node-exporter "apt-get install prometheus-node-exporter"
		echo "== idle host, run $r: ${HOST_SECONDS}s, polled every ${HOST_INTERVAL}s" >&2
		host_part $r | tee -a "$out" >&2
	fi
	if [ -z "${SKIP_GATHERER:-}" ]; then
		need vmagent "apt-get install victoria-metrics"
		for n in $FLEETS; do
			echo "== gatherer beside vmagent, run $r: $n hosts, ${GATHER_INTERVAL}s rounds" >&2
			gatherer_part $r "$n" | tee -a "$out" >&2
		done
	fi
	r=$((r + 1))
done

echo
echo "$("$BIN/statsherd" version 2>/dev/null | head -1), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
if grep -q '^HOST' "$out"; then
	echo
	echo "Idle host, ${HOST_INTERVAL}s interval, ${HOST_SECONDS}s (one row a run; RSS and PSS: mean and largest of a sample every ${MEM_SAMPLE}s;"
	echo "RSS_peak: the processes' peak RSS over the window, VmHWM, summed; Anon: their anonymous memory, RssAnon summed, mean and"
	echo "last sample):"
	printf '%-17s %9s %8s %8s %8s %8s %8s %8s %9s %14s\n' program processes RSS_MiB RSS_max RSS_peak PSS_MiB PSS_max Anon_MiB Anon_last CPU_ms/minute
	sort -s -k2,2 "$out" | awk '$1 == "HOST" {sub(/^HOST /, ""); print}'
fi
if grep -q '^GATH' "$out"; then
	echo
	echo "Gatherer, 100 stats per host, ${GATHER_INTERVAL}s rounds. RSS and PSS of all processes, MiB, sampled every second at the"
	echo "same moments for both once every host is in: mean, largest sample, mean PSS; statsherd's at each round's end (the"
	echo "load tool's rows) and its peak during a round (VmHWM); ms per host (and its median) and CPU a round are ranges over the rounds:"
	printf '%-15s %7s %8s %8s %8s %17s %7s %17s %7s %16s\n' program hosts RSS_mean RSS_max PSS_mean RSS_round_end peak ms_per_host median CPU_s/round
	sort -s -k3,3n -k2,2 "$out" | awk '$1 == "GATH" {sub(/^GATH /, ""); print}'
fi
