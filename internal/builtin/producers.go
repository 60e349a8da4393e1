package builtin

import (
	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/builtin/producerset"
	"github.com/statsherd/statsherd/sdk"
)

// producers lists the built-in producers, by the name used in HCL.
func producers() map[string]func(hclog.Logger) sdk.Producer {
	return producerset.Producers()
}
