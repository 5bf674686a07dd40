import type { Log, Progress } from "../../../domain/Activity.js"
import { call, RpcError, stream } from "../api.js"
import type { TaskWire } from "../api.js"
import { ago, append, badge, fill, h, json, ms, patch } from "../dom.js"
import { draw } from "../graph.js"
import type { View } from "../view.js"

// One task: what it is, every attempt's error, its payload and result, its dependencies, its
// log lines as they come (follow), and what can be done to it (destructive actions ask first).
// It watches the task's own stream (GET /events?task=), so its status and progress are live.

const ended = new Set(["completed", "failed", "cancelled"])

const field = (label: string, value: HTMLElement | string | number) => [h("dt", {}, label), h("dd", {}, value)]

const actionsOf = (t: TaskWire, act: (label: string, run: () => Promise<unknown>, confirmText?: string) => HTMLElement) => {
  const list: Array<HTMLElement> = []
  if (!ended.has(t.status)) list.push(act("Cancel", () => call("cancel", { id: t.id }), `Cancel task ${t.id}?`))
  if (t.status === "failed" || t.status === "cancelled") list.push(act("Retry", () => call("retry", { id: t.id })))
  if (t.status === "pending" || t.status === "delayed" || t.status === "blocked" || t.status === "retrying") list.push(act("Pause", () => call("pause", { id: t.id })))
  if (t.status === "paused") list.push(act("Resume", () => call("resume", { id: t.id })))
  list.push(act("Delete", () => call("delete", { id: t.id, force: !ended.has(t.status) }), `Delete task ${t.id}${ended.has(t.status) ? "" : " (it is not finished: it is cancelled first)"} and its logs?`))
  return list
}

export const task = (id: string): View => {
  // What a refresh redraws (patched: a focused button stays focused) around what it never
  // touches: an action's error and the log, which grows as lines come.
  const top = h("div")
  const problem = h("p", { class: "problem", role: "alert", hidden: true })
  const details = h("div")
  const logs = h("ol", { class: "logs", "aria-live": "polite" })
  const logSection = h("section", { hidden: true }, h("h2", {}, "Log"), logs)
  const root = h("div", { class: "task" }, top, problem, details, logSection)
  const controller = new AbortController()
  // The streams end with the task (and may drop): a refresh of a task that is not finished
  // (after a retry, say) opens them again; the log resumes after its last line.
  let following = false
  let watching = false
  let lastLine: string | undefined

  const act = (label: string, run: () => Promise<unknown>, confirmText?: string) =>
    h("button", { type: "button", "data-action": label.toLowerCase(), onclick: () => {
      if (confirmText !== undefined && !confirm(confirmText)) return
      problem.hidden = true
      run().then(() => {
        if (label === "Delete") location.hash = "#/tasks"
        else void refresh()
      }, (e: unknown) => {
        problem.hidden = false
        problem.textContent = e instanceof RpcError ? e.message : String(e)
      })
    } }, label)

  const follow = () => {
    if (following) return
    following = true
    void stream(`/logs?id=${encodeURIComponent(id)}&follow=true`, (frame) => {
      if (frame.event !== "Log") return
      const line = frame.data as Log
      lastLine = frame.id ?? lastLine
      append(logs, [h("li", { class: `l-${line.level}` }, h("span", { class: "at" }, new Date(line.at).toISOString().slice(11, 23)), ` #${line.attempt} `, h("span", { class: "level" }, line.level), " ", line.message)])
    }, controller.signal, lastLine).catch(() => undefined).finally(() => (following = false))
  }

  // Its own stream: status changes and progress, until it ends.
  const watch = () => {
    if (watching) return
    watching = true
    void stream(`/events?task=${encodeURIComponent(id)}`, (frame) => {
      if (frame.event === "StatusChanged") void refresh().catch(() => undefined)
      if (frame.event === "Progress") {
        const p = frame.data as Progress
        root.querySelector("progress")?.setAttribute("value", String(p.percent))
        const text = root.querySelector(".progress .text")
        if (text !== null) text.textContent = ` ${Math.round(p.percent)}%${p.description === null ? "" : ` ${p.description}`}`
      }
    }, controller.signal).catch(() => undefined).finally(() => (watching = false))
  }

  const refresh = async () => {
    let t: TaskWire
    let graph: Awaited<ReturnType<typeof call<"graph">>>
    try {
      t = await call("get", { id })
      graph = await call("graph", { id })
    } catch (e) {
      if (e instanceof RpcError && e.data?._tag === "TaskNotFound") {
        logSection.hidden = true
        fill(details)
        return patch(top, h("h1", {}, id), h("p", { class: "empty" }, "No such task (deleted, or never submitted)."))
      }
      throw e
    }
    const progress = h("progress", { max: 100, value: t.progress, "aria-label": "progress" })
    patch(top,
      h("h1", {}, t.id, " ", badge(t.status)),
      h("div", { class: "actions" }, ...actionsOf(t, act)))
    patch(details,
      h("div", { class: "progress" }, progress, h("span", { class: "text" }, ` ${Math.round(t.progress)}%${t.description === null ? "" : ` ${t.description}`}`)),
      h("dl", { class: "fields" },
        ...field("type", t.type), ...field("priority", t.priority), ...field("attempt", `${t.attempt} of ${t.retry.maxAttempts}`),
        ...field("key", t.key ?? "–"), ...field("created", ago(t.createdAt)), ...field("started", ago(t.startedAt)),
        ...field("finished", ago(t.finishedAt)),
        ...field("ran for", t.startedAt === null ? "–" : ms((t.finishedAt ?? Date.now()) - t.startedAt)),
        ...field("running on", t.lease === null ? "–" : t.lease.owner),
        ...field("trace", t.traceParent?.split("-")[1] ?? "–")),
      graph.nodes.length < 2 ? null : h("section", { class: "dependencies" }, h("h2", {}, "Dependencies"),
        draw(graph, t.id),
        graph.truncated ? h("p", { class: "empty" }, "More tasks are connected than shown.") : null),
      h("section", {}, h("h2", {}, "Payload"), json(t.payload)),
      ended.has(t.status) && t.status === "completed" ? h("section", {}, h("h2", {}, "Result"), json(t.result)) : null,
      t.errors.length === 0 ? null : h("section", {}, h("h2", {}, "Attempts that failed"),
        h("ol", { class: "errors" }, ...t.errors.map((e) => h("li", { value: e.attempt },
          h("strong", {}, (e.error as { readonly _tag?: string })._tag ?? "error"), " ", ago(e.at), json(e.error))))))
    logSection.hidden = false
    follow()
    if (!ended.has(t.status)) watch()
  }

  return { root, refresh, dispose: () => controller.abort() }
}
