import type { StatusChanged } from "../../../domain/TaskEvent.js"
import { call } from "../api.js"
import type { ParamsOf, TaskWire } from "../api.js"
import { ago, badge, fill, h } from "../dom.js"
import { statuses, throttle } from "../view.js"
import type { View } from "../view.js"

// Tasks: newest first, filtered by status, type and id prefix (the filters live in the URL, so
// a filtered list can be linked to), paged back by sequence number (keyset: as fast on page 100
// as on page 1). Rows follow their tasks' status changes as events come; new tasks that match
// show up on the first page.

const PAGE = 50
const MAX_ROWS = 500

export interface Filters {
  readonly status: string | undefined
  readonly type: string | undefined
  readonly idPrefix: string | undefined
}

export const filtersOf = (query: URLSearchParams): Filters => ({
  status: query.get("status") ?? undefined,
  type: query.get("type") || undefined,
  idPrefix: query.get("id") || undefined
})

const hrefOf = (f: Filters) => {
  const q = new URLSearchParams()
  if (f.status !== undefined) q.set("status", f.status)
  if (f.type !== undefined) q.set("type", f.type)
  if (f.idPrefix !== undefined) q.set("id", f.idPrefix)
  const s = q.toString()
  return `#/tasks${s.length > 0 ? `?${s}` : ""}`
}

const row = (t: TaskWire) =>
  h("tr", { "data-task": t.id, "data-seq": t.seq },
    h("td", {}, h("a", { href: `#/task/${encodeURIComponent(t.id)}` }, t.id)),
    h("td", {}, t.type),
    h("td", { class: "status" }, badge(t.status)),
    h("td", { class: "num" }, t.priority),
    h("td", { class: "num" }, t.attempt),
    h("td", {}, t.key ?? ""),
    h("td", { class: "when" }, ago(t.createdAt)))

export const tasks = (filters: Filters): View => {
  const root = h("div", { class: "tasks" })
  const body = h("tbody")
  const more = h("button", { type: "button", class: "more", hidden: true }, "Older")
  let oldestSeq: number | undefined
  const shown = new Set<string>()

  const params = (beforeSeq?: number): ParamsOf<"list"> => ({
    limit: PAGE,
    newestFirst: true,
    ...(filters.status === undefined ? {} : { status: [filters.status as TaskWire["status"]] }),
    ...(filters.type === undefined ? {} : { type: filters.type }),
    ...(filters.idPrefix === undefined ? {} : { idPrefix: filters.idPrefix }),
    ...(beforeSeq === undefined ? {} : { beforeSeq })
  })
  const page = async (beforeSeq?: number) => {
    const list = await call("list", params(beforeSeq))
    for (const t of list) shown.add(t.id)
    oldestSeq = list.at(-1)?.seq ?? oldestSeq
    more.hidden = list.length < PAGE
    return list
  }
  more.addEventListener("click", () => void page(oldestSeq).then((list) => body.append(...list.map(row))))

  const form = h("form", { class: "filters", role: "search", onsubmit: (e: Event) => {
    e.preventDefault()
    const data = new FormData(e.target as HTMLFormElement)
    const text = (name: string) => String(data.get(name) ?? "").trim() || undefined
    location.hash = hrefOf({ status: text("status"), type: text("type"), idPrefix: text("id") })
  } },
    h("label", {}, "status ",
      h("select", { name: "status" }, h("option", { value: "" }, "any"),
        ...statuses.map((s) => h("option", { value: s, selected: s === filters.status }, s)))),
    h("label", {}, "type ", h("input", { name: "type", value: filters.type ?? "", size: 12 })),
    h("label", {}, "id starts with ", h("input", { name: "id", value: filters.idPrefix ?? "", size: 16 })),
    h("button", { type: "submit" }, "Filter"))

  const refresh = async () => {
    shown.clear()
    const list = await page()
    fill(body, ...list.map(row))
    fill(root,
      h("h1", {}, "Tasks"),
      form,
      h("div", { class: "scroll" }, h("table", { class: "grid rows" },
        h("thead", {}, h("tr", {}, ...["id", "type", "status", "priority", "attempt", "key", "created"].map((c) => h("th", {}, c)))),
        body)),
      list.length === 0 ? h("p", { class: "empty" }, "No tasks match.") : null,
      more)
  }
  // New tasks that may match: the first page is read again (at most ~3 times a second). When
  // all of it is new, more may have come than a page: the list starts again from the newest
  // rather than leave a hole. It keeps at most MAX_ROWS rows (the oldest go; "Older" pages on).
  const reload = throttle(300, async () => {
    const list = await call("list", params())
    const fresh = list.filter((t) => !shown.has(t.id))
    if (fresh.length === list.length && list.length === PAGE) return refresh()
    for (const t of fresh) shown.add(t.id)
    body.prepend(...fresh.map(row))
    while (body.rows.length > MAX_ROWS) {
      const last = body.rows[body.rows.length - 1]!
      shown.delete(last.dataset["task"] ?? "")
      last.remove()
    }
    const bottom = body.rows[body.rows.length - 1]?.dataset["seq"]
    if (bottom !== undefined) {
      oldestSeq = Number(bottom)
      more.hidden = false
    }
  })
  const onEvent: View["onEvent"] = (frame) => {
    if (frame.event !== "StatusChanged") return
    const change = frame.data as StatusChanged
    const cell = body.querySelector(`tr[data-task="${CSS.escape(change.id)}"] td.status`)
    if (cell !== null) {
      cell.closest("tr")?.classList.toggle("left", filters.status !== undefined && change.status !== filters.status)
      fill(cell, badge(change.status))
    } else if ((filters.status === undefined || filters.status === change.status) && (filters.type === undefined || filters.type === change.type) &&
      (filters.idPrefix === undefined || change.id.startsWith(filters.idPrefix))) {
      reload()
    }
  }
  return { root, refresh, onEvent }
}
