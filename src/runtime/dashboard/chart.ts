// A bar chart as inline SVG (no chart library): one bar per minute, completed below failed,
// scaled to the busiest minute, with the time axis at both ends.

import { svg } from "./dom.js"

export interface Bar {
  readonly at: number
  readonly completed: number
  readonly failed: number
}

export const minutes = (bars: ReadonlyArray<Bar>, label: string): SVGSVGElement => {
  const width = 1200
  const height = 120
  const top = Math.max(1, ...bars.map((b) => b.completed + b.failed))
  const step = width / Math.max(1, bars.length)
  const root = svg("svg", { viewBox: `0 0 ${width} ${height + 16}`, role: "img", "aria-label": label, class: "chart" })
  bars.forEach((b, i) => {
    const ok = (b.completed / top) * height
    const bad = (b.failed / top) * height
    const x = i * step + 1
    const w = Math.max(1, step - 2)
    if (ok > 0) root.appendChild(svg("rect", { x, y: height - ok, width: w, height: ok, class: "ok" }))
    if (bad > 0) root.appendChild(svg("rect", { x, y: height - ok - bad, width: w, height: bad, class: "bad" }))
    const title = svg("title", {})
    title.textContent = `${new Date(b.at).toTimeString().slice(0, 5)}: ${b.completed} completed, ${b.failed} failed`
    const hit = svg("rect", { x, y: 0, width: w, height, class: "hit" })
    hit.appendChild(title)
    root.appendChild(hit)
  })
  const axis = (x: number, anchor: string, text: string) => {
    const t = svg("text", { x, y: height + 13, "text-anchor": anchor, class: "axis" })
    t.textContent = text
    root.appendChild(t)
  }
  if (bars.length > 0) {
    axis(0, "start", new Date(bars[0]!.at).toTimeString().slice(0, 5))
    axis(width, "end", new Date(bars.at(-1)!.at).toTimeString().slice(0, 5))
  }
  return root
}
