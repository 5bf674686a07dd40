import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

// The dashboard (src/runtime/dashboard, bundled by `npm run build` into dist/dashboard/app.js):
// GET / serves its page, GET /dashboard/app.js its code. The page holds no data: everything it
// shows comes through the API, with the token when the server has one.

/** Where the bundle is: next to the compiled server (dist/), or under dist/ from the sources (tests). */
const candidates = ["../../../dashboard/app.js", "../../../dist/dashboard/app.js"].map((p) => fileURLToPath(new URL(p, import.meta.url)))

// Read once, on the first request (the file does not change while the server runs).
let bundle: { readonly code: string | undefined } | undefined
const read = Effect.sync(() => {
  if (bundle === undefined) {
    const file = candidates.find((c) => fs.existsSync(c))
    bundle = { code: file === undefined ? undefined : fs.readFileSync(file, "utf8") }
  }
  return bundle.code
})

/** GET /dashboard/app.js: the bundle, or 503 saying how to build it. */
export const script = Effect.flatMap(read, (code) =>
  Effect.succeed(
    code === undefined
      ? HttpServerResponse.text("the dashboard is not built: run npm run build", { status: 503 })
      : HttpServerResponse.text(code, { contentType: "text/javascript; charset=utf-8", headers: { "cache-control": "no-cache" } })
  ))

const style = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2125;--muted:#5c6670;--line:#d9dee3;--card:#f5f7f9;--accent:#2456c9;
--pending:#6b7280;--running:#2456c9;--delayed:#8a6d00;--retrying:#b45309;--blocked:#7c3aed;--paused:#6b7280;--completed:#1a7f37;--failed:#c62828;--cancelled:#57606a}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e6e8eb;--muted:#9aa4ae;--line:#2c333a;--card:#1a1f25;--accent:#7aa2ff;
--pending:#9aa4ae;--running:#7aa2ff;--delayed:#e3b341;--retrying:#f0883e;--blocked:#b39cff;--paused:#9aa4ae;--completed:#3fb950;--failed:#ff7b72;--cancelled:#8b949e}}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;gap:1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line);flex-wrap:wrap}
header .brand{font-weight:700}nav{display:flex;gap:.8rem}nav a{color:var(--fg);text-decoration:none;padding:.2rem .4rem;border-radius:4px}
nav a[aria-current]{background:var(--card);font-weight:600}#live{margin-left:auto;font-size:.85em;color:var(--muted)}#live[data-state=live]::before{content:"● ";color:var(--completed)}
main{padding:1rem;max-width:80rem;margin:0 auto}h1{font-size:1.4rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
a{color:var(--accent)}a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(7.5rem,1fr));gap:.6rem}
.card{display:flex;flex-direction:column;padding:.6rem .8rem;background:var(--card);border-radius:6px;text-decoration:none;color:var(--fg);border-left:4px solid var(--muted)}
.card .n{font-size:1.5rem;font-variant-numeric:tabular-nums;font-weight:600}.card .label{color:var(--muted)}
${["pending", "running", "delayed", "retrying", "blocked", "paused", "completed", "failed", "cancelled"].map((s) => `.s-${s}{border-color:var(--${s})}.badge.s-${s}{color:var(--${s})}`).join("")}
.badge{display:inline-block;min-width:5.5rem;font-size:.85em;font-weight:600}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem}
.health strong{text-transform:uppercase}.h-healthy strong{color:var(--completed)}.h-warning strong{color:var(--retrying)}.h-critical strong,.h-offline strong{color:var(--failed)}
dl.numbers,dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dt{color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
table.grid{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}table.grid th,table.grid td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
table.grid td:first-child{white-space:normal;overflow-wrap:anywhere}.num{text-align:right!important}tr.left{opacity:.55}
section,.scroll{overflow-x:auto}.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin-bottom:.8rem}
input,select,button{font:inherit;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:.25rem .5rem}
button{cursor:pointer;background:var(--card)}button[data-action=cancel],button[data-action=delete]{color:var(--failed)}
.actions{display:flex;gap:.5rem;margin-bottom:.8rem}
button.news{display:block;width:100%;margin-bottom:.5rem;text-align:left;border-color:var(--accent);color:var(--accent)}button.news.idle{visibility:hidden}.more{margin-top:.8rem}.empty{color:var(--muted)}.problem{color:var(--failed)}
pre.json{background:var(--card);padding:.6rem;border-radius:6px;overflow:auto;max-height:24rem;margin:.3rem 0}
ol.logs{font:13px/1.4 ui-monospace,monospace;background:var(--card);padding:.6rem .6rem .6rem 2.5rem;border-radius:6px;max-height:28rem;overflow:auto}
.logs .at{color:var(--muted)}.l-warn .level{color:var(--retrying)}.l-error .level{color:var(--failed)}
.progress{display:flex;align-items:center;gap:.5rem;margin-bottom:.8rem}progress{width:16rem;max-width:60%}
form.token{max-width:24rem;display:flex;flex-direction:column;gap:.6rem}
form.submit-form{max-width:36rem;display:flex;flex-direction:column;gap:.5rem}.field{display:flex;flex-direction:column;gap:.15rem}.field.check{flex-direction:row;align-items:center;gap:.4rem}
fieldset{border:1px solid var(--line);border-radius:6px;display:flex;flex-direction:column;gap:.5rem}textarea{font:13px/1.4 ui-monospace,monospace;color:inherit;background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:.4rem}
.fields-form{display:flex;flex-direction:column;gap:.5rem}ul.types li{margin:.3rem 0}
svg.chart{width:100%;height:auto;display:block}svg.chart .ok{fill:var(--completed)}svg.chart .bad{fill:var(--failed)}svg.chart .hit{fill:transparent}svg.chart .axis{fill:var(--muted);font-size:11px}
.legend .key{display:inline-block;width:.8em;height:.8em;border-radius:2px}.legend .key.ok{background:var(--completed)}.legend .key.bad{background:var(--failed)}
svg.graph{max-width:100%;height:auto}svg.graph .node{fill:var(--card);stroke:var(--muted);stroke-width:1.5}svg.graph .node.center{stroke-width:3}
${["pending", "running", "delayed", "retrying", "blocked", "paused", "completed", "failed", "cancelled"].map((s) => `svg.graph .node.s-${s}{stroke:var(--${s})}svg.graph .st.s-${s}{fill:var(--${s})}`).join("")}
svg.graph .id{fill:var(--fg);font-size:12px}svg.graph .st{font-size:11px}svg.graph .edge{fill:none;stroke:var(--muted);stroke-width:1.5}svg.graph .arrowhead{fill:var(--muted)}
.meter{display:grid;grid-template-columns:5rem minmax(6rem,16rem) auto;gap:.6rem;align-items:center;margin:.2rem 0}meter{width:100%}
@media (max-width:40rem){main{padding:.6rem}table.grid th,table.grid td{padding:.25rem .3rem}.badge{min-width:0}}
`

/** GET /: the page (the bundle draws everything in it). */
export const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>troupe</title>
<style>${style}</style>
</head>
<body>
<header><span class="brand">troupe</span><nav><a href="#/">Overview</a><a href="#/tasks">Tasks</a><a href="#/submit">Submit</a><a href="/api">API</a></nav><span id="live" data-state="offline">connecting</span></header>
<main id="view"><p class="empty">Loading…</p></main>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`
