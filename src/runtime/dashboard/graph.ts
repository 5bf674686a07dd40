import type { ResultOf } from "./api.js"
import { svg } from "./dom.js"

// A task's dependency graph drawn as inline SVG: the task in the middle column, what it depends
// on in columns to its left, what depends on it to its right (by distance), each task a box in
// its status's colour that links to its page, an arrow per dependency.

type Graph = ResultOf<"graph">

const W = 190
const H = 34
const GAP_X = 60
const GAP_Y = 14

/** Distance of every node from `center`: negative upstream, positive downstream. */
const layers = (graph: Graph, center: string) => {
  const layer = new Map<string, number>([[center, 0]])
  const walk = (next: (id: string) => ReadonlyArray<string>, sign: number) => {
    let frontier = [center]
    for (let d = 1; frontier.length > 0; d++) {
      const found: Array<string> = []
      for (const id of frontier) for (const n of next(id)) if (!layer.has(n)) { layer.set(n, sign * d); found.push(n) }
      frontier = found
    }
  }
  walk((id) => graph.edges.filter((e) => e.to === id).map((e) => e.from), -1)
  walk((id) => graph.edges.filter((e) => e.from === id).map((e) => e.to), 1)
  return layer
}

export const draw = (graph: Graph, center: string): SVGSVGElement => {
  const layer = layers(graph, center)
  const min = Math.min(...layer.values())
  const columns = new Map<number, Array<Graph["nodes"][number]>>()
  for (const node of graph.nodes) {
    const l = layer.get(node.id) ?? 0
    columns.set(l, [...(columns.get(l) ?? []), node])
  }
  const tallest = Math.max(...[...columns.values()].map((c) => c.length))
  const width = (Math.max(...layer.values()) - min + 1) * (W + GAP_X) - GAP_X
  const height = tallest * (H + GAP_Y) - GAP_Y
  const at = new Map<string, { x: number; y: number }>()
  for (const [l, nodes] of columns) {
    const top = (height - (nodes.length * (H + GAP_Y) - GAP_Y)) / 2
    nodes.forEach((n, i) => at.set(n.id, { x: (l - min) * (W + GAP_X), y: top + i * (H + GAP_Y) }))
  }
  const root = svg("svg", { viewBox: `-2 -2 ${width + 4} ${height + 4}`, class: "graph", role: "img", "aria-label": "dependency graph", width: width + 4 })
  const defs = svg("defs", {})
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" })
  marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))
  defs.appendChild(marker)
  root.appendChild(defs)
  for (const e of graph.edges) {
    const a = at.get(e.from)
    const b = at.get(e.to)
    if (a === undefined || b === undefined) continue
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2]
    root.appendChild(svg("path", { d: `M ${x1} ${y1} C ${x1 + GAP_X / 2} ${y1}, ${x2 - GAP_X / 2} ${y2}, ${x2} ${y2}`, class: "edge", "marker-end": "url(#arrow)" }))
  }
  for (const n of graph.nodes) {
    const p = at.get(n.id)!
    const link = svg("a", { href: `#/task/${encodeURIComponent(n.id)}`, "data-node": n.id, "data-status": n.status })
    link.appendChild(svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 5, class: `node s-${n.status}${n.id === center ? " center" : ""}` }))
    const label = svg("text", { x: p.x + 8, y: p.y + 14, class: "id" })
    label.textContent = n.id.length > 26 ? `${n.id.slice(0, 25)}…` : n.id
    const status = svg("text", { x: p.x + 8, y: p.y + 28, class: `st s-${n.status}` })
    status.textContent = `${n.type} · ${n.status}`
    const title = svg("title", {})
    title.textContent = `${n.id} (${n.type}): ${n.status}`
    link.append(title, label, status)
    root.appendChild(link)
  }
  return root
}
