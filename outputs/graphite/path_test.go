package graphite

import (
	"strings"
	"testing"
)

// TestPath: the series names of the README's table: the template filled
// in, characters carbon cannot take replaced, labels as Graphite 1.1 tags
// or folded into the path.
func TestPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, template, mode, id, nick, key string
		want                                string
	}{
		{"default", DefaultTemplate, "tags", "abcd", "storage-01", "load_monitor.avg_load", "statsherd.storage-01.load_monitor.avg_load"},
		{"nickname folded", DefaultTemplate, "tags", "abcd", "web 1.eu/ü", "a.b", "statsherd.web_1_eu___.a.b"},
		{"empty nickname", DefaultTemplate, "tags", "abcd", "", "a.b", "statsherd._.a.b"},
		{"node and postfix", "tahoe.{node}.{name}.value", "tags", "abcd", "x", "a.b", "tahoe.abcd.a.b.value"},
		{"name first", "{name}.{nickname}", "tags", "abcd", "x", "a.b", "a.b.x"},
		{"tags", DefaultTemplate, "tags", "abcd", "x", `a.b{disk="sda",mode="read write"}`, "statsherd.x.a.b;disk=sda;mode=read_write"},
		{"tags after a postfix", "s.{node}.{name}.value", "tags", "abcd", "x", `a.b{disk="sda"}`, "s.abcd.a.b.value;disk=sda"},
		{"path", DefaultTemplate, "path", "abcd", "x", `a.b{disk="sda",mode="r.w"}`, "statsherd.x.a.b.sda.r_w"},
		{"path empty value", DefaultTemplate, "path", "abcd", "x", `a.b{disk="",mode="ü"}`, "statsherd.x.a.b._.__"},
		{"tag value characters", DefaultTemplate, "tags", "abcd", "x", `a.b{k="~r.w;x=y!^\"\\\nü"}`, `statsherd.x.a.b;k=_r.w_x=y!^"\___`},
		{"tag value tilde inside", DefaultTemplate, "tags", "abcd", "x", `a.b{k="a~b"}`, "statsherd.x.a.b;k=a~b"},
		{"empty tag value", DefaultTemplate, "tags", "abcd", "x", `a.b{k=""}`, "statsherd.x.a.b;k=_"},
		{"tag named name", DefaultTemplate, "tags", "abcd", "x", `a.b{name="n",zone="z"}`, "statsherd.x.a.b;exported_name=n;zone=z"},
		{"carbon's order", DefaultTemplate, "tags", "abcd", "x", `a.b{a="1",a0="2",a_b="3"}`, "statsherd.x.a.b;a0=2;a=1;a_b=3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := parseTemplate(tt.template)
			if err != nil {
				t.Fatal(err)
			}
			tmpl.labelsPath = tt.mode == "path"
			pre, post := tmpl.node(tt.id, tt.nick)
			if got := string(tmpl.appendPath(nil, pre, tt.key, post)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzTemplate: a template that parses gives, for any nickname and node
// id, a path of [A-Za-z0-9_-] components, none empty.
func FuzzTemplate(f *testing.F) {
	f.Add(DefaultTemplate, "storage 01", "abcd")
	f.Add("{node}.{nickname}.{name}.x", "", "")
	f.Add("{name}{nickname}", "a.b", "c;d")
	f.Fuzz(func(t *testing.T, src, nick, id string) {
		tmpl, err := parseTemplate(src)
		if err != nil {
			return
		}
		pre, post := tmpl.node(id, nick)
		path := string(tmpl.appendPath(nil, pre, "group.stat", post))
		for _, part := range strings.Split(path, ".") {
			if part == "" {
				t.Fatalf("template %q, nickname %q, node %q: empty component in %q", src, nick, id, path)
			}
			for i := 0; i < len(part); i++ {
				if !plainByte(part[i]) {
					t.Fatalf("template %q, nickname %q, node %q: %q in %q", src, nick, id, part[i], path)
				}
			}
		}
	})
}
