import * as Api from "./Api.js"

// GET /: what this server serves, for a person who opens its address in a browser. It names
// no task and no state, so it needs no token.

const code = (s: string) => `<code>${s}</code>`

/** The page; `tokenRequired`: the API asks for a bearer token. */
export const page = (tokenRequired: boolean): string => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>troupe</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}code{font-size:.95em}li{margin:.3rem 0}</style>
</head>
<body>
<h1>troupe</h1>
<p>A durable, priority-based task runtime. This server answers:</p>
<ul>
<li>${code("POST /rpc")}: JSON-RPC 2.0, single calls or batches. Methods: ${Api.methods.map(code).join(", ")}; their params, results and errors: <a href="/openrpc.json">${code("GET /openrpc.json")}</a> (OpenRPC).</li>
<li>${code("GET /events")}: every task event as Server-Sent Events (resume with ${code("Last-Event-ID")}); ${code("GET /events?task=ID")}: one task until it ends.</li>
<li>${code("GET /logs?id=ID&amp;follow=true")}: a task's log lines.</li>
<li>${code("GET /health")}: health and its reasons (503 when critical or offline).</li>
</ul>
<p>${tokenRequired ? `Every call needs ${code("Authorization: Bearer &lt;token&gt;")}.` : "No token is required (loopback only)."}
The ${code("troupe")} CLI is a client of this API: ${code("troupe --help")}.</p>
</body>
</html>
`
