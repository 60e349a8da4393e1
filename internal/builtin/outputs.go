package builtin

import (
	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/munin"
	"github.com/statsherd/statsherd/outputs/graphite"
	"github.com/statsherd/statsherd/outputs/influxdb"
	"github.com/statsherd/statsherd/outputs/prometheus"
	"github.com/statsherd/statsherd/outputs/remote_write"
	"github.com/statsherd/statsherd/outputs/stdout"
	"github.com/statsherd/statsherd/sdk"
)

// outputs lists the built-in outputs, by the name used in HCL.
func outputs() map[string]func(hclog.Logger) sdk.Output {
	return map[string]func(hclog.Logger) sdk.Output{
		"munin":           munin.New,
		graphite.Name:     graphite.New,
		influxdb.Name:     influxdb.New,
		prometheus.Name:   prometheus.New,
		remote_write.Name: remote_write.New,
		stdout.Name:       stdout.New,
	}
}
