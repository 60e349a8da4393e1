//go:build !linux

package trim

// Executable does nothing outside Linux.
func Executable() (int64, error) { return 0, nil }

func regions() ([]region, error)              { return nil, nil }
func drop([]region) (int64, error)            { return 0, nil }
func split([]region) error                    { return nil }
func merge([]region) error                    { return nil }
func mapped([]region) (pageSet, error)        { return pageSet{}, nil }
func keepOnly([]region, pageSet) (int, error) { return 0, nil }
func tmpTrace(string) bool                    { return false }
