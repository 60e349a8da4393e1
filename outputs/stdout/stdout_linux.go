package stdout

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// openParentStdout opens the standard output of the gatherer, the parent
// of this plugin process: the plugin's own stdout belongs to go-plugin.
func openParentStdout() (io.WriteCloser, error) {
	p := "/proc/" + strconv.Itoa(os.Getppid()) + "/fd/1"
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the gatherer's standard output (%s): %w; set path to write to a file instead", p, err)
	}
	return f, nil
}
