import type { StatusChanged } from "../../../domain/TaskEvent.js"
import { call } from "../api.js"
import type { ParamsOf, TaskWire } from "../api.js"
import { ago, badge, fill, h } from "../dom.js"
import { statuses, throttle } from "../view.js"
import type { View } from "../view.js"

// Tasks: newest first, filtered by status, type, actor key and id prefix (the filters live in
// the URL, so a filtered list can be linked to), paged back by sequence number (keyset: as fast
// on page 100 as on page 1). Rows follow their tasks' status changes as events come. Tasks that
// come to match are not pushed in above the rows being read: a bar (its room always kept, so
// nothing moves) says how many there are, and shows them on demand.

const PAGE = 50

export interface Filters {
  readonly status: string | undefined
  readonly type: string | undefined
  readonly key: string | undefined
  readonly idPrefix: string | undefined
}

export const filtersOf = (query: URLSearchParams): Filters => ({
  status: query.get("status") || undefined,
  type: query.get("type") || undefined,
  key: query.get("key") || undefined,
  idPrefix: query.get("id") || undefined
})

const hrefOf = (f: Filters) => {
  const q = new URLSearchParams()
  if (f.status !== undefined) q.set("status", f.status)
  if (f.type !== undefined) q.set("type", f.type)
  if (f.key !== undefined) q.set("key", f.key)
  if (f.idPrefix !== undefined) q.set("id", f.idPrefix)
  const s = q.toString()
  return `#/tasks${s.length > 0 ? `?${s}` : ""}`
}

const row = (t: TaskWire) =>
  h("tr", { "data-task": t.id, "data-seq": t.seq },
    h("td", {}, h("a", { href: `#/task/${encodeURIComponent(t.id)}` }, t.id)),
    h("td", {}, t.type),
    h("td", { class: "status", "data-at": t.updatedAt }, badge(t.status)),
    h("td", { class: "num" }, t.priority),
    h("td", { class: "num" }, t.attempt),
    h("td", {}, t.key === null ? "" : h("a", { href: hrefOf({ status: undefined, type: undefined, key: t.key, idPrefix: undefined }) }, t.key)),
    h("td", { class: "when" }, ago(t.createdAt)))

const matches = (filters: Filters, change: StatusChanged) =>
  (filters.status === undefined || filters.status === change.status) && (filters.type === undefined || filters.type === change.type) &&
  (filters.idPrefix === undefined || change.id.startsWith(filters.idPrefix))

export const tasks = (filters: Filters): View => {
  const body = h("tbody")
  const none = h("p", { class: "empty", hidden: true }, "No tasks match.")
  const more = h("button", { type: "button", class: "more", hidden: true }, "Older")
  const news = h("button", { type: "button", class: "news", "data-news": 0 })
  let oldestSeq: number | undefined
  const shown = new Set<string>()

  const params = (beforeSeq?: number): ParamsOf<"list"> => ({
    limit: PAGE,
    newestFirst: true,
    ...(filters.status === undefined ? {} : { status: [filters.status as TaskWire["status"]] }),
    ...(filters.type === undefined ? {} : { type: filters.type }),
    ...(filters.key === undefined ? {} : { key: filters.key }),
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

  /** The bar: how many tasks match now that the rows do not show (room kept when there are none). */
  const announce = (count: number, atLeast: boolean) => {
    news.dataset["news"] = String(count)
    news.textContent = count === 0 ? "No new tasks" : `${count}${atLeast ? "+" : ""} more ${count === 1 ? "task matches" : "tasks match"} now · Show`
    news.classList.toggle("idle", count === 0)
    news.disabled = count === 0
  }

  const form = h("form", { class: "filters", role: "search", onsubmit: (e: Event) => {
    e.preventDefault()
    const data = new FormData(e.target as HTMLFormElement)
    const text = (name: string) => String(data.get(name) ?? "").trim() || undefined
    location.hash = hrefOf({ status: text("status"), type: text("type"), key: text("key"), idPrefix: text("id") })
  } },
    h("label", {}, "status ",
      h("select", { name: "status" }, h("option", { value: "" }, "any"),
        ...statuses.map((s) => h("option", { value: s, selected: s === filters.status }, s)))),
    h("label", {}, "type ", h("input", { name: "type", value: filters.type ?? "", size: 12 })),
    h("label", {}, "key ", h("input", { name: "key", value: filters.key ?? "", size: 12 })),
    h("label", {}, "id starts with ", h("input", { name: "id", value: filters.idPrefix ?? "", size: 16 })),
    h("button", { type: "submit" }, "Filter"))

  const root = h("div", { class: "tasks" },
    h("h1", {}, "Tasks"),
    form,
    news,
    h("div", { class: "scroll" }, h("table", { class: "grid rows" },
      h("thead", {}, h("tr", {}, ...["id", "type", "status", "priority", "attempt", "key", "created"].map((c) => h("th", {}, c)))),
      body)),
    none,
    more)

  const refresh = async () => {
    shown.clear()
    const list = await page()
    fill(body, ...list.map(row))
    none.hidden = list.length > 0
    announce(0, false)
  }
  // Shown from the keyboard, the focus goes on to the newest row (the bar goes idle).
  news.addEventListener("click", () => void refresh().then(() => {
    if (document.activeElement === news || document.activeElement === document.body) body.querySelector("a")?.focus()
  }))
  // Tasks that may have come to match: the first page is read again (at most ~3 times a second)
  // and what it holds that the rows do not is counted.
  const recount = throttle(300, async () => {
    const list = await call("list", params())
    const fresh = list.filter((t) => !shown.has(t.id)).length
    announce(fresh, fresh === list.length && list.length === PAGE)
  })
  const onEvent: View["onEvent"] = (frame) => {
    if (frame.event !== "StatusChanged") return
    const change = frame.data as StatusChanged
    const cell = body.querySelector<HTMLElement>(`tr[data-task="${CSS.escape(change.id)}"] td.status`)
    if (cell !== null) {
      // A change older than the one shown (a submit's `pending` can reach the stream after
      // its `running`) changes nothing.
      if (change.at < Number(cell.dataset["at"] ?? 0)) return
      cell.dataset["at"] = String(change.at)
      cell.closest("tr")?.classList.toggle("left", filters.status !== undefined && change.status !== filters.status)
      fill(cell, badge(change.status))
    } else if (matches(filters, change)) {
      // (Events do not carry the key: with a key filter, the first page tells.)
      recount()
    }
  }
  announce(0, false)
  return { root, refresh, onEvent }
}
