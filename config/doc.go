// Package config loads statsherd's HCL files (host and gatherer), decodes
// each plugin's block against the schema the plugin declares, and reports
// every mistake as an hcl.Diagnostic with file, line and column.
package config
