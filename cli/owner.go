package cli

import (
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// otherOwner returns the name of the user that owns path when that is not
// this process's user, and whether it is. Files a daemon's user must read
// (keys, secrets, mode 0600) are not made or changed in a directory of
// another user's: root doing so would lock the service out of its own
// files.
func otherOwner(path string) (string, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) == os.Geteuid() {
		return "", false
	}
	owner := strconv.Itoa(int(st.Uid))
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	return owner, true
}
