package host_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/host"
	"github.com/statsherd/statsherd/sdk"
)

// builtins are the five built-in producers of an idle host, and a stat
// each of them reports.
var builtins = map[string]string{
	"load_monitor": "load_monitor.avg_load",
	"uptime":       "node.uptime",
	"cpu_monitor":  "cpu_monitor.total",
	"process":      "process.vmrss",
	"disk":         "storage_server.disk_total",
}

const builtinsHCL = `
producer "load_monitor" {}
producer "uptime" {}
producer "cpu_monitor" {}
producer "process" {}
producer "disk" { path = "/" }
`

// sharedProcess returns the host's plugin processes: the one serving the
// built-in producers (0 if none), and how many others there are.
func sharedProcess(t *testing.T, d *daemon, mark string) (shared int, others []string) {
	t.Helper()
	for pid, cmd := range markedProcs(mark, d.cmd.Process.Pid) {
		if strings.HasSuffix(cmd, bins.statsherd+" plugin serve producer") {
			if shared != 0 {
				t.Errorf("two processes serve built-in producers: %d and %d", shared, pid)
			}
			shared = pid
			continue
		}
		others = append(others, cmd)
	}
	return shared, others
}

// allBuiltinsServe reports whether every built-in producer answered, with
// its own stats and state, and has been restarted at least restarts times.
func allBuiltinsServe(restarts int64) func(sdk.Stats) bool {
	return func(st sdk.Stats) bool {
		for name, stat := range builtins {
			if _, ok := st.Stats[stat]; !ok {
				return false
			}
			if st.Stats["statsherd.producer."+name+".up"] != sdk.Int(1) || st.Counters["statsherd.producer."+name+".restarts"] < restarts {
				return false
			}
		}
		return true
	}
}

// The five built-in producers run in one process, a third-party producer
// in its own; when the shared process is killed, one fresh process serves
// all five again, each counting its restart in its own stats, and the
// third-party producer is untouched.
func TestE2EBuiltinsShareOneProcess(t *testing.T) {
	t.Parallel()
	mark := newMark()
	d := startDaemonEnv(t, `
nickname = "shared"
reporting { statsd = "" }
status { listen = "127.0.0.1:0" }
producer "third" { plugin = "PLUGIN" }
`+builtinsHCL, []string{mark})
	d.pollUntil("every producer answers", func(st sdk.Stats) bool {
		return allBuiltinsServe(0)(st) && st.Stats["third.answer"] == sdk.Int(42)
	})
	shared, others := sharedProcess(t, d, mark)
	if shared == 0 || len(others) != 1 || !strings.HasPrefix(others[0], bins.testproducer) {
		t.Fatalf("plugin processes: shared %d, others %q; want one shared process and the third-party producer's own\n%s", shared, others, d.stderr)
	}
	// Its timer slack is the host's sharedTimerSlack; the host keeps its own.
	if got, want := timerSlack(t, shared), host.SharedTimerSlack.Nanoseconds(); got != want {
		t.Errorf("the shared process's timer slack: %d ns, want %d", got, want)
	}
	if got := timerSlack(t, d.cmd.Process.Pid); got == host.SharedTimerSlack.Nanoseconds() {
		t.Errorf("the host's own timer slack is the shared process's, %d ns", got)
	}

	if err := syscall.Kill(shared, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := d.pollUntil("every built-in serves again", allBuiltinsServe(1))
	again, others := sharedProcess(t, d, mark)
	if again == 0 || again == shared || len(others) != 1 {
		t.Errorf("after the crash: shared process %d (killed %d), others %q; want one fresh shared process and the third-party producer", again, shared, others)
	}
	if st.Counters["statsherd.producer.third.restarts"] != 0 || st.Stats["third.answer"] != sdk.Int(42) {
		t.Errorf("the third-party producer: restarts %d, answer %v; want untouched", st.Counters["statsherd.producer.third.restarts"], st.Stats["third.answer"])
	}
	// Whichever call finds it: "exited" between calls, "crashed" in one.
	if log := d.stderr.String(); !strings.Contains(log, "shared process of the built-in producers") || !strings.Contains(log, "exited") && !strings.Contains(log, "crashed") {
		t.Errorf("the crash was not logged:\n%s", d.stderr)
	}
	d.stop()
	expectNoneLeft(t, mark, "after the host stopped")
}

// timerSlack is the timer slack of process pid's main thread, in ns.
func timerSlack(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/timerslack_ns")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rssFileKiB is the RssFile of process pid in KiB: the pages of files it
// maps, mostly its executable's.
func rssFileKiB(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no RssFile in /proc/%d/status", pid)
	return 0
}

// A poll maps pages of the executables (TLS or HTTP, gRPC, protobuf, the
// producers); the host drops them again within seconds of a status page's
// poll (a Kick: every page goes), not only once after start-up. The
// process of the built-in producers keeps what a sparse poll ran (see
// trim): it is only logged.
func TestE2EPagesDroppedAfterEachPoll(t *testing.T) {
	t.Parallel()
	mark := newMark()
	d := startDaemonEnv(t, `
nickname = "trim"
reporting { statsd = "" }
status { listen = "127.0.0.1:0" }
`+builtinsHCL, []string{mark})
	d.pollUntil("every built-in answers", allBuiltinsServe(0))
	shared, _ := sharedProcess(t, d, mark)
	if shared == 0 {
		t.Fatalf("no process serves the built-in producers\n%s", d.stderr)
	}
	host := d.cmd.Process.Pid
	// Past the trims that end start-up (10 s after the producers'
	// Configure) and follow the polls above, so that only the next
	// poll's trim is left to see.
	time.Sleep(12 * time.Second)
	d.poll(5 * time.Second)
	h0, s0 := rssFileKiB(t, host), rssFileKiB(t, shared)
	var h, s int64
	for end := time.Now().Add(25 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		h, s = rssFileKiB(t, host), rssFileKiB(t, shared)
		if h < h0-512 {
			t.Logf("RssFile after the poll: host %d KiB, built-ins %d KiB; seconds later %d and %d KiB", h0, s0, h, s)
			return
		}
	}
	t.Errorf("RssFile after the poll: host %d KiB, built-ins %d KiB; 25 s later %d and %d KiB: want the host's 512 KiB less", h0, s0, h, s)
}
