package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

type describeOnly struct{ name string }

func (d describeOnly) Describe(context.Context) (Info, error) {
	return Info{Name: d.name, Config: Schema{{Name: "path", Type: String, Required: true}}}, nil
}
func (describeOnly) Configure(context.Context, Config) error { return nil }
func (describeOnly) Collect(context.Context) (Stats, error)  { return NewStats(), nil }
func (describeOnly) Write(context.Context, Round) error      { return nil }
func (describeOnly) Close(context.Context) error             { return nil }

func TestDescribe(t *testing.T) {
	p := Plugins{
		Producers: map[string]func(hclog.Logger) Producer{
			"b": func(hclog.Logger) Producer { return describeOnly{"b"} },
			"a": func(hclog.Logger) Producer { return describeOnly{"a"} },
		},
		Outputs: map[string]func(hclog.Logger) Output{"o": func(hclog.Logger) Output { return describeOnly{"o"} }},
	}
	var buf bytes.Buffer
	if err := Describe(context.Background(), p, &buf); err != nil {
		t.Fatal(err)
	}
	var d Description
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatalf("describe printed invalid JSON: %v\n%s", err, buf.String())
	}
	if len(d.Producers) != 2 || d.Producers[0].Name != "a" || len(d.Outputs) != 1 || !d.Outputs[0].Config[0].Required {
		t.Errorf("description = %+v", d)
	}
}

func TestServeOneRefusesWithoutDaemon(t *testing.T) {
	t.Setenv(Handshake.MagicCookieKey, "")
	err := ServeOne(Plugins{}, KindProducer, "x")
	if err == nil || !strings.Contains(err.Error(), "not by hand") {
		t.Errorf("err = %v", err)
	}
}

func TestPick(t *testing.T) {
	m := map[string]int{"only": 1}
	if v, err := pick(m, "producer", "other"); err != nil || v != 1 {
		t.Errorf("single plugin not picked under another name: %v %v", v, err)
	}
	m["two"] = 2
	if _, err := pick(m, "producer", "other"); err == nil || !strings.Contains(err.Error(), "only, two") {
		t.Errorf("err = %v, want the list of what is served", err)
	}
}
