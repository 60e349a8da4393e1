package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// readStatus reads /proc/PID/status under procRoot.
func readStatus(procRoot string, pid int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "status"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("process is not running: %w", err)
	}
	return b, err
}
