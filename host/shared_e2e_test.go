package host_test

import (
	"strings"
	"syscall"
	"testing"

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
