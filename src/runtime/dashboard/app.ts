import { call, stream, token, Unauthorized } from "./api.js"
import type { Frame } from "./api.js"
import { fill, h } from "./dom.js"
import type { View } from "./view.js"
import { overview } from "./views/overview.js"
import { submit } from "./views/submit.js"
import { task } from "./views/task.js"
import { filtersOf, tasks } from "./views/tasks.js"

// The dashboard served by `troupe start` at /: a page per hash route (#/, #/tasks?…, #/task/ID),
// one shared GET /events stream feeding the page shown, and a token prompt when the server asks
// for one (the token is kept for the tab).

const main = document.getElementById("view")!
const live = document.getElementById("live")!
let current: View | undefined

const route = (): View => {
  const [path = "", query = ""] = location.hash.slice(1).split("?")
  if (path.startsWith("/task/")) return task(decodeURIComponent(path.slice("/task/".length)))
  if (path === "/tasks") return tasks(filtersOf(new URLSearchParams(query)))
  if (path === "/submit") return submit(new URLSearchParams(query).get("type") ?? undefined)
  return overview()
}

const prompt = (why: string) => {
  const input = h("input", { type: "password", name: "token", autocomplete: "off", required: true, "aria-label": "token", autofocus: true })
  fill(main, h("form", { class: "token", onsubmit: (e: Event) => {
    e.preventDefault()
    token.set(input.value.trim())
    void show()
    void listen()
  } },
    h("h1", {}, "Token"),
    h("p", {}, why),
    input,
    h("button", { type: "submit" }, "Open")))
  input.focus()
}

const failed = (e: unknown) => {
  if (e instanceof Unauthorized) {
    const had = token.get() !== null
    token.clear()
    return prompt(had ? "That token was not accepted. The server's token:" : "This server asks for a token (--token or TROUPE_TOKEN where it runs):")
  }
  fill(main, h("p", { class: "problem", role: "alert" }, e instanceof Error ? e.message : String(e)))
}

const show = async () => {
  current?.dispose?.()
  let view: View
  try {
    view = route()
  } catch (e) {
    current = undefined
    return failed(e)
  }
  current = view
  try {
    await view.refresh()
    if (current === view) fill(main, view.root)
  } catch (e) {
    if (current === view) failed(e)
  }
  for (const a of document.querySelectorAll("nav a")) a.toggleAttribute("aria-current", location.hash.startsWith(a.getAttribute("href")!) && a.getAttribute("href") !== "#/" || (a.getAttribute("href") === "#/" && (location.hash === "" || location.hash === "#/")))
}

// One stream for every page: reconnects with Last-Event-ID; when events were lost (`gap`,
// `dropped`) or the server restarted, the page reads its state again.
let listening = false
const listen = async () => {
  if (listening) return
  listening = true
  let last: string | undefined
  for (;;) {
    try {
      live.dataset["state"] = "live"
      live.textContent = "live"
      await stream("/events", (frame: Frame) => {
        if (frame.id !== undefined) last = frame.id
        if (frame.event === "gap" || frame.event === "dropped") void current?.refresh()
        else current?.onEvent?.(frame)
      }, new AbortController().signal, last)
    } catch (e) {
      if (e instanceof Unauthorized) {
        listening = false
        return
      }
    }
    live.dataset["state"] = "offline"
    live.textContent = "reconnecting"
    await new Promise((r) => setTimeout(r, 1000))
    void current?.refresh()
  }
}

window.addEventListener("hashchange", () => void show())
// A first call that reads nothing from the store: it tells whether a token is needed.
void call("types", {}).then(() => {
  void show()
  void listen()
}, failed)
