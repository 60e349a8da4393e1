package packaging_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

// readmeBlocks returns the shell blocks of README.md's section heading
// (up to the next "## " heading), in order.
func readmeBlocks(t *testing.T, readme, heading string) []string {
	t.Helper()
	i := strings.Index(readme, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q section", heading)
	}
	section := readme[i+1:]
	if j := strings.Index(section[len(heading):], "\n## "); j >= 0 {
		section = section[:len(heading)+j]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md's %q section has no ```sh block", heading)
	}
	return blocks
}

// freePort returns a loopback port free for TCP and UDP right now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port for TCP and UDP")
	return 0
}

// The shell run before README's blocks. systemctl stands in for systemd
// (not running where tests run): "enable --now UNIT" starts the installed
// unit's ExecStart as its User, in the background of this shell, as
// systemd would; anything else (restarting munin-node) is left alone.
// munin-run reads this root's plugins and plugin-conf.d, after the first
// round that holds every host started so far.
const prelude = `set -euo pipefail
export PATH="$ROOT/usr/local/bin:$PATH"
hosts=0
systemctl() {
	if [ "$1 $2" != "enable --now" ]; then echo "(test) not run: systemctl $*" >&2; return 0; fi
	local unit=$3 file inst="" user exec
	case $unit in
	*@*) inst=${unit#*@}; file="$ROOT/usr/local/lib/systemd/system/${unit%%@*}@.service" ;;
	*) file="$ROOT/usr/local/lib/systemd/system/$unit.service" ;;
	esac
	user=$(sed -n 's/^User=//p' "$file")
	exec=$(sed -n 's/^ExecStart=//p' "$file")
	exec=${exec//%i/$inst}
	[ -n "$user" ] && [ -n "$exec" ] || { echo "(test) $file has no User or ExecStart" >&2; return 1; }
	echo "(test) $unit: $exec, as $user" >&2
	setpriv --reuid="$user" --regid="$user" --init-groups -- $exec >>"$LOGS/$unit.log" 2>&1 &
	case $unit in statsherd-host*) hosts=$((hosts+1)) ;; esac
}
munin_run() { munin-run --servicedir "$ROOT/etc/munin/plugins" --sconfdir "$ROOT/etc/munin/plugin-conf.d" "$@"; }
wait_round() {
	local n
	for _ in $(seq 600); do
		n=$(munin_run "$1" 2>/dev/null | grep -c '\.value [0-9]' || true)
		[ "$n" -ge "$hosts" ] && return 0
		sleep 0.1
	done
	echo "(test) munin-run $1 has no value for each of $hosts hosts after 60 s" >&2
	tail -n 20 "$LOGS"/*.log >&2
	return 1
}
`

// TestREADME runs README.md's "Running it for real" blocks as written,
// as root, on this machine, with these changes only: every path under
// /etc, /var/lib and /usr/local moves under a scratch root, make install
// says so (and builds into a directory of the test's), the host ports
// are free ones, the gatherer polls every second, munin-node is not
// installed again (it is here; its plugins directory moves), systemctl starts the
// units' ExecStart as their user (see prelude), and munin-run waits for
// the first round. The user statsherd is created for real, as the README
// says. The test fails if the README stops saying what it replaces.
func TestREADME(t *testing.T) {
	needRoot(t, "the README's commands run as root and as users statsherd and nobody")
	for _, p := range [][2]string{{"munin-run", "munin-node"}, {"setpriv", "util-linux"}, {"systemd-sysusers", "systemd"}, {"runuser", "util-linux"}, {"make", "make"}} {
		need(t, p[0], p[1])
	}
	modRoot, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(modRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// The README makes the user statsherd for real: if it was not there,
	// the test removes it again (after the daemons, which run as it, stop).
	if _, err := user.Lookup("statsherd"); err != nil {
		t.Cleanup(func() {
			if out, err := exec.Command("userdel", "statsherd").CombinedOutput(); err != nil {
				t.Logf("userdel statsherd (made by the README's systemd-sysusers): %v\n%s", err, out)
			}
		})
	}
	// A root every user may enter, as / is (t.TempDir makes two 0700 levels).
	root := t.TempDir()
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	logs := t.TempDir()
	script := strings.Join(readmeBlocks(t, string(readme), "## Running it for real"), "\n")

	// Paths move under the scratch root.
	script = regexp.MustCompile(`(^|[\s"=])/(etc|var/lib|usr/local)/`).ReplaceAllString(script, "${1}"+root+"/${2}/")
	ports := map[string]int{}
	for _, r := range []struct{ old, new string }{
		{"make install\n", fmt.Sprintf("make -s install BIN=%s PREFIX=%s/usr/local SYSCONFDIR=%s/etc LOCALSTATEDIR=%s/var\n", t.TempDir(), root, root, root)},
		{"systemctl enable --now statsherd-gatherer\n", fmt.Sprintf(`printf 'poll_interval = "1s"\nstatus { listen = "127.0.0.1:0" }\n' >>%s/var/lib/statsherd-gatherer/gatherer.hcl
systemctl enable --now statsherd-gatherer
`, root)},
		// munin-node is installed on this machine (need above, .ci/run).
		{"apt-get install -y munin-node", "mkdir -p " + root + "/etc/munin/plugins"},
		{"munin-run tahoe_runtime_load_avg", "wait_round tahoe_runtime_load_avg && munin_run tahoe_runtime_load_avg"},
		{"munin-run system_load_1min", "munin_run system_load_1min | sed 's/^/system_load_1min: /'"},
		{"127.0.0.1:8125", ""}, {"127.0.0.1:8127", ""}, {"127.0.0.1:8135", ""}, {"127.0.0.1:8137", ""},
	} {
		if !strings.Contains(script, r.old) {
			t.Fatalf("README.md's Running it for real no longer says %q: update TestREADME", r.old)
		}
		if r.new == "" {
			ports[r.old] = freePort(t)
			r.new = fmt.Sprintf("127.0.0.1:%d", ports[r.old])
		}
		script = strings.ReplaceAll(script, r.old, r.new)
	}

	cmd := exec.Command("bash", "-c", prelude+script)
	cmd.Dir = modRoot
	cmd.Env = append(os.Environ(), "ROOT="+root, "LOGS="+logs)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The daemons run in the script's process group, which this test
	// made: end them all, and only them.
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		for range 100 {
			if syscall.Kill(-cmd.Process.Pid, 0) != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	err = cmd.Wait()
	logsOut, _ := exec.Command("sh", "-c", "tail -n 30 "+logs+"/*.log").CombinedOutput()
	if err != nil {
		t.Fatalf("the README's commands failed: %v\nscript:\n%s\nstdout:\n%s\nstderr:\n%s\ndaemons:\n%s", err, script, stdout.String(), stderr.String(), logsOut)
	}
	out := stdout.String()
	// create-gatherer printed the furl; munin read both hosts' load.
	if !regexp.MustCompile(`(?m)^pb://\S+$`).MatchString(out) {
		t.Errorf("create-gatherer printed no furl:\n%s", out)
	}
	for _, want := range []string{`(?m)^storage_01_[a-z0-9]{4}\.value [0-9]`, `(?m)^tahoe_02_[a-z0-9]{4}\.value [0-9]`,
		`(?m)^system_load_1min: storage_01_[a-z0-9]{4}\.value [0-9.]+$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("munin-run printed no line like %s:\n%s\nstderr:\n%s\ndaemons:\n%s", want, out, stderr.String(), logsOut)
		}
	}
	if !strings.Contains(stderr.String(), "made a new node id") && !strings.Contains(string(logsOut), "made a new node id") {
		t.Errorf("no host said it made a new node id:\n%s", logsOut)
	}
}

// TestREADMEHoldsForTheDeb: after step 1 (make install, or the .deb,
// which installs under /usr instead of /usr/local), "Running it for real"
// names no /usr/local path, so a .deb user can follow it too.
func TestREADMEHoldsForTheDeb(t *testing.T) {
	t.Parallel()
	modRoot, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(modRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	script := strings.Join(readmeBlocks(t, string(readme), "## Running it for real"), "\n")
	i := strings.Index(script, "\n# 2.")
	if i < 0 {
		t.Fatal(`README.md's Running it for real has no step "# 2.": update TestREADMEHoldsForTheDeb`)
	}
	for n, line := range strings.Split(script[i:], "\n") {
		if strings.Contains(line, "/usr/local/") {
			t.Errorf("after step 1, line %d names a /usr/local path, which the .deb does not install: %s", n, line)
		}
	}
}
