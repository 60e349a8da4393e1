package statuspage

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sync"
)

// The pages share one look: a top bar naming the daemon, then sections.
// Everything is inline (style, plots, the refresh script): nothing is
// loaded from elsewhere, and the pages work with JavaScript off.

const style = `:root{--fg:#1f2937;--mute:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--accent:#2563eb}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{background:#0f172a;color:#e2e8f0;padding:10px 20px;display:flex;gap:18px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0;color:#fff}header a{color:#93c5fd}header .sub{color:#94a3b8;font-size:13px}
main{padding:14px 20px}
h2{font-size:15px;margin:18px 0 8px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin-bottom:12px}
.kv{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}.kv dt{color:var(--mute)}.kv dd{margin:0}
.counts{display:flex;gap:10px;flex-wrap:wrap;margin-bottom:12px}
.count{display:block;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px 14px;min-width:110px;text-decoration:none;color:var(--fg)}
.count b{display:block;font-size:22px}.count.on{outline:2px solid var(--accent)}
table{border-collapse:collapse;background:var(--card);width:100%}table.fit{width:auto;min-width:640px}
th,td{border-bottom:1px solid var(--line);padding:3px 7px;text-align:left;white-space:nowrap}
th{background:#f1f5f9;font-weight:600;position:sticky;top:0}th a{color:var(--fg);text-decoration:none}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.w{white-space:normal;min-width:150px;max-width:260px;font-size:12px;line-height:1.3;color:var(--mute)}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}.scroll table{border:0}
tr:hover td{background:#f8fafc}
code,.id{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
a{color:var(--accent)}
.st{display:inline-block;border-radius:9px;padding:0 8px;font-size:12px;font-weight:600}
.st-connected,.st-up{background:#dcfce7;color:#166534}.st-lost,.st-down{background:#fee2e2;color:#991b1b}
.st-pending{background:#fef9c3;color:#854d0e}.st-revoked{background:#e5e7eb;color:#374151}.st-refused{background:#ffedd5;color:#9a3412}
.plots{display:flex;flex-wrap:wrap;gap:10px}
svg.plot{background:var(--card);border:1px solid var(--line);border-radius:6px}
svg .pt{font-size:12px;font-weight:600;fill:var(--fg)}svg .pa,svg .pe,svg .pl{font-size:10px;fill:var(--mute)}svg .pl{font-weight:600}
svg .pf{fill:none;stroke:var(--line)}svg .pg{stroke:var(--line);stroke-dasharray:3 3}
form.filter{display:flex;gap:8px;align-items:center;margin:8px 0;flex-wrap:wrap}
input,select,button{font:inherit;padding:3px 6px}
.pager{margin:8px 0;color:var(--mute)}.pager a{margin:0 6px}
.mute{color:var(--mute)}.err{color:#991b1b}
footer{padding:10px 20px;color:var(--mute);font-size:12px}`

// refresh replaces the page's <main> with a fresh copy every interval
// while the page is visible; without JavaScript the page is simply
// reloaded by hand.
const refresh = `(function(){var ms=%d;function tick(){if(document.hidden){setTimeout(tick,ms);return}
fetch(location.href,{headers:{Accept:"text/html"}}).then(function(r){if(!r.ok)throw new Error(r.status);return r.text()}).then(function(t){
var d=new DOMParser().parseFromString(t,"text/html"),m=d.querySelector("main"),o=document.querySelector("main");
if(m&&o){o.replaceWith(m)}var s=document.getElementById("updated");if(s)s.textContent="updated "+new Date().toLocaleTimeString()}).catch(function(){}).then(function(){setTimeout(tick,ms)})}
setTimeout(tick,ms)})();`

// Layout is what the top and bottom of a page say.
type Layout struct {
	Title string // the page's own title, after the daemon's
	// Daemon names the daemon: "gatherer storage-gw".
	Daemon string
	// Nav are the links in the top bar, label → URL, in order.
	Nav [][2]string
	// RefreshMS is the refresh interval for the script; 0: none.
	RefreshMS int
	// JSON is the link to the page's JSON twin.
	JSON string
}

// The templates are parsed at first use, not at init: every statsherd
// process links this package, the host's built-ins process too, which
// serves no page (TestOwnPackagesInitLight).
var head = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("head").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,"><title>{{.Title}} · statsherd {{.Daemon}}</title><style>{{.Style}}</style></head><body>
<header><h1>statsherd {{.Daemon}}</h1>{{range .Nav}}<a href="{{index . 1}}">{{index . 0}}</a>{{end}}<span class="sub">{{.Title}}</span><span class="sub" id="updated"></span>{{if .JSON}}<a href="{{.JSON}}">JSON</a>{{end}}</header>
<main>
`))
})

var foot = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("foot").Parse(`</main>
<footer>Read-only status page, answered on loopback only. Every view has a JSON twin: add ?t=json.</footer>
{{if .RefreshMS}}<script>{{.Script}}</script>{{end}}
</body></html>
`))
})

// Head writes the top of a page.
func (l Layout) Head(w io.Writer) error {
	return head().Execute(w, struct {
		Layout
		Style template.CSS
	}{l, template.CSS(style)})
}

// Foot writes the bottom of a page, with the refresh script.
func (l Layout) Foot(w io.Writer) error {
	return foot().Execute(w, struct {
		Layout
		Script template.JS
	}{l, template.JS(fmt.Sprintf(refresh, l.RefreshMS))})
}

// WantsJSON reports whether r asks for a page's JSON twin (?t=json).
func WantsJSON(r *http.Request) bool { return r.URL.Query().Get("t") == "json" }

// WriteJSON writes v as indented JSON.
func WriteJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// HTMLHeaders sets the headers of an HTML page: no caching, and a
// content security policy that allows only what the page carries inline
// and requests to its own origin (the refresh).
func HTMLHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
}
