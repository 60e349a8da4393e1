package builtin

import (
	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/cpu_monitor"
	"github.com/statsherd/statsherd/producers/disk"
	"github.com/statsherd/statsherd/producers/exec"
	"github.com/statsherd/statsherd/producers/load_monitor"
	"github.com/statsherd/statsherd/producers/openmetrics"
	"github.com/statsherd/statsherd/producers/process"
	"github.com/statsherd/statsherd/producers/system"
	"github.com/statsherd/statsherd/producers/tahoe"
	"github.com/statsherd/statsherd/producers/upload_helper"
	"github.com/statsherd/statsherd/producers/uptime"
	"github.com/statsherd/statsherd/sdk"
)

// producers lists the built-in producers, by the name used in HCL.
func producers() map[string]func(hclog.Logger) sdk.Producer {
	return map[string]func(hclog.Logger) sdk.Producer{
		cpu_monitor.Name:   cpu_monitor.New,
		disk.Name:          disk.New,
		exec.Name:          exec.New,
		openmetrics.Name:   openmetrics.New,
		load_monitor.Name:  load_monitor.New,
		process.Name:       process.New,
		system.Name:        system.New,
		tahoe.Name:         tahoe.New,
		upload_helper.Name: upload_helper.New,
		uptime.Name:        uptime.New,
	}
}
