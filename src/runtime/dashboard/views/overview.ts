import { call } from "../api.js"
import { minutes } from "../chart.js"
import type { ResultOf } from "../api.js"
import { h, ms, patch } from "../dom.js"
import { statuses, throttle } from "../view.js"
import type { View } from "../view.js"

// Overview: counts by status and by type, throughput and times, health with its reasons, the
// worker threads and the nodes, reloaded (at most ~3 times a second) as events come.

type Stats = ResultOf<"stats">

const cards = (stats: Stats) =>
  statuses.map((s) =>
    h("a", { class: `card s-${s}`, href: `#/tasks?status=${s}`, "data-card": s },
      h("span", { class: "n" }, stats.counts.byStatus[s] ?? 0),
      h("span", { class: "label" }, s)))

const health = (stats: Stats) =>
  h("div", { class: `health h-${stats.health.level}`, "data-health": stats.health.level },
    h("strong", {}, stats.health.level),
    stats.health.reasons.length === 0 ? null : h("ul", {}, ...stats.health.reasons.map((r) => h("li", {}, r))))

const numbers = (stats: Stats) =>
  h("dl", { class: "numbers" },
    h("dt", {}, "throughput"), h("dd", {}, `${stats.throughput.perSecond.toFixed(1)}/s`),
    h("dt", {}, `completed / failed (last ${Math.round(stats.throughput.windowMs / 1000)} s)`), h("dd", {}, `${stats.throughput.completed} / ${stats.throughput.failed}`),
    h("dt", {}, "run time p50 / p95 / p99"), h("dd", {}, `${ms(stats.runMs.p50)} / ${ms(stats.runMs.p95)} / ${ms(stats.runMs.p99)}`),
    h("dt", {}, "wait time p50 / p95 / p99"), h("dd", {}, `${ms(stats.waitMs.p50)} / ${ms(stats.waitMs.p95)} / ${ms(stats.waitMs.p99)}`),
    h("dt", {}, "running here"), h("dd", {}, stats.running),
    h("dt", {}, "paused"), h("dd", {}, stats.paused.queue ? "the whole queue" : stats.paused.types.length > 0 ? stats.paused.types.join(", ") : "nothing"))

/** Whose ends the chart counts: every node's on the store (those that left are not in it). */
const scope = (stats: Stats) => {
  const alive = stats.nodes.filter((n) => n.alive).length
  return alive === 0 ? "this process" : alive === 1 ? "1 node" : `${alive} nodes`
}

const history = (stats: Stats) => {
  const done = stats.history.reduce((n, m) => n + m.completed, 0)
  const failed = stats.history.reduce((n, m) => n + m.failed, 0)
  return h("div", { class: "history" },
    minutes(stats.history, "attempts ended per minute, last hour"),
    h("p", { class: "legend" },
      h("span", { class: "key ok" }), ` completed ${done} `,
      h("span", { class: "key bad" }), ` failed ${failed}`,
      ` · failure rate ${done + failed === 0 ? "–" : `${((failed / (done + failed)) * 100).toFixed(1)}%`} (${scope(stats)}, last hour)`))
}

const meter = (label: string, used: number, capacity: number, unit: string) =>
  h("div", { class: "meter", "data-resource": label },
    h("span", { class: "what" }, label),
    h("meter", { min: 0, max: Math.max(capacity, 1e-9), value: used, "aria-label": label }),
    h("span", { class: "amount" }, capacity === 0 ? "none declared" : `${+used.toFixed(2)} of ${+capacity.toFixed(2)}${unit}`))

const resources = (stats: Stats) => {
  const r = stats.resources
  return h("div", { class: "resources" },
    meter("cpu", r.inUse.cpu, r.capacity.cpu, ""),
    meter("memory", r.inUse.memoryMb, r.capacity.memoryMb, " MiB"),
    meter("gpu", r.inUse.gpu, r.capacity.gpu, ""),
    h("p", { class: r.memory?.underPressure === true ? "problem" : "" },
      r.memory === null
        ? "Memory not sampled yet."
        : `Memory: ${Math.round(r.memory.usedShare * 100)}% in use, ${Math.round(r.memory.freeMb)} MiB free` +
          (r.memory.underPressure ? ` — under pressure: admission paused, pool target ${r.memory.poolTarget}` : "")))
}

/** A button that pauses or resumes a type (or the queue), then reads the page again. */
const toggle = (target: { readonly type: string } | { readonly queue: true }, paused: boolean, done: () => Promise<void>, confirmText?: string) =>
  h("button", { type: "button", "data-toggle": "type" in target ? target.type : "queue", onclick: () => {
    if (confirmText !== undefined && !confirm(confirmText)) return
    void call(paused ? "resume" : "pause", target).then(done)
  } }, paused ? "Resume" : "Pause")

const byType = (stats: Stats, done: () => Promise<void>) => {
  const types = Object.keys(stats.counts.byType).sort()
  if (types.length === 0) return h("p", { class: "empty" }, "No tasks yet.")
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, h("th", {}, "type"), ...statuses.map((s) => h("th", { class: "num" }, s)), h("th", {}, ""))),
    h("tbody", {}, ...types.map((type) =>
      h("tr", { "data-type": type }, h("td", {}, h("a", { href: `#/tasks?type=${encodeURIComponent(type)}` }, type), stats.paused.types.includes(type) ? " (paused)" : ""),
        ...statuses.map((s) => h("td", { class: "num" }, stats.counts.byType[type]?.[s] ?? 0)),
        h("td", {}, toggle({ type }, stats.paused.types.includes(type), done))))))
}

const workers = (stats: Stats) =>
  stats.workers.length === 0
    ? h("p", { class: "empty" }, "No worker threads in this process.")
    : h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...["slot", "state", "task", "heap", "done", "failed", "recycled"].map((c) => h("th", {}, c)))),
      h("tbody", {}, ...stats.workers.map((w) =>
        h("tr", { "data-worker": w.slot },
          h("td", {}, w.slot), h("td", {}, w.state),
          h("td", {}, w.currentTask === null ? "–" : h("a", { href: `#/task/${encodeURIComponent(w.currentTask)}` }, w.currentTask)),
          h("td", {}, w.heapUsedMb === null ? "–" : `${w.heapUsedMb.toFixed(0)} MiB`),
          h("td", { class: "num" }, w.tasksDone), h("td", { class: "num" }, w.failures), h("td", { class: "num" }, w.recycled)))))

const nodes = (stats: Stats) =>
  stats.nodes.length <= 1
    ? null
    : h("section", {}, h("h2", {}, "Nodes"),
      h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, ...["host", "pid", "alive", "leads", "running", "rate", "threads", "memory"].map((c) => h("th", {}, c)))),
        h("tbody", {}, ...stats.nodes.map((n) =>
          h("tr", {},
            h("td", {}, n.host), h("td", { class: "num" }, n.pid), h("td", {}, n.alive ? "yes" : "dead"), h("td", {}, n.leader ? "yes" : ""),
            h("td", { class: "num" }, n.running), h("td", { class: "num" }, `${n.perSecond.toFixed(1)}/s`), h("td", { class: "num" }, n.workers.length),
            h("td", {}, n.memory === null ? "–" : `${Math.round(n.memory.usedShare * 100)}%${n.memory.underPressure ? " (pressure)" : ""}`))))))

type Schedules = ResultOf<"schedules">

/** An interval in the largest whole unit: "15 min", "2 h", "90 s". */
const interval = (value: number) => {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["min", 60_000], ["s", 1000]] as const) {
    if (value % size === 0) return `${value / size} ${unit}`
  }
  return `${value} ms`
}

const when = (s: Schedules[number]) =>
  s.cron !== null ? `cron ${s.cron}${s.timezone === null ? "" : ` (${s.timezone})`}` : `every ${interval(s.everyMs ?? 0)}`

const schedules = (list: Schedules, done: () => Promise<void>) =>
  list.length === 0
    ? h("p", { class: "empty" }, "No schedules (TaskQueue.schedule, the schedule method, or troupe schedule).")
    : h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...["name", "type", "when", "missed", "next", ""].map((c) => h("th", {}, c)))),
      h("tbody", {}, ...list.map((s) =>
        h("tr", { "data-schedule": s.name },
          h("td", {}, s.name), h("td", {}, h("a", { href: `#/tasks?type=${encodeURIComponent(s.type)}` }, s.type)), h("td", {}, when(s)),
          h("td", {}, s.misfire === "skip" ? "skipped" : "run once"),
          h("td", {}, new Date(s.nextAt).toLocaleString()),
          h("td", {}, h("button", { type: "button", "data-unschedule": s.name, onclick: () => {
            if (confirm(`Remove the schedule ${s.name}? The tasks it submitted stay.`)) void call("unschedule", { name: s.name }).then(done)
          } }, "Unschedule"))))))

export const overview = (): View => {
  const root = h("div", { class: "overview" })
  const refresh = async () => {
    const [stats, scheduled] = await Promise.all([call("stats", {}), call("schedules", {})])
    patch(root,
      h("h1", {}, "Overview"),
      h("section", { class: "cards", "aria-label": "tasks by status" }, ...cards(stats)),
      h("div", { class: "columns" }, h("section", {}, h("h2", {}, "Health"), health(stats)), h("section", {}, h("h2", {}, "Now"), numbers(stats))),
      h("section", {}, h("h2", {}, "Throughput, last hour"), history(stats)),
      h("section", {}, h("h2", {}, "Resource budget in use"), resources(stats)),
      h("section", {}, h("h2", {}, "By type"), byType(stats, refresh),
        h("p", {}, stats.paused.queue ? "The whole queue is paused: nothing new starts. " : "",
          toggle({ queue: true }, stats.paused.queue, refresh, stats.paused.queue ? undefined : "Pause the whole queue? Running tasks finish; nothing new starts."), " the whole queue")),
      h("section", {}, h("h2", {}, "Schedules"), schedules(scheduled, refresh)),
      h("section", {}, h("h2", {}, "Worker threads"), workers(stats)),
      nodes(stats))
  }
  const later = throttle(300, refresh)
  return { root, refresh, onEvent: (frame) => (frame.event === "StatusChanged" ? later() : undefined) }
}
