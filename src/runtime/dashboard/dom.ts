// A few DOM helpers: elements built from data (text is always set as text, never as HTML).

export type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>

type Listeners = ReadonlyMap<string, (event: Event) => void>
/** Each element's listeners given to `h`, so `patch` can move them onto the element it keeps. */
const listenersOf = new WeakMap<Element, Listeners>()

/** An element with attributes (`on…`: listeners; `true`: a bare attribute) and children. */
export const h = <K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: ReadonlyArray<Child>): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag)
  const listeners = new Map<string, (event: Event) => void>()
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === "function") listeners.set(name.slice(2).toLowerCase(), value)
    else element.setAttribute(name, value === true ? "" : String(value))
  }
  if (listeners.size > 0) on(element, listeners)
  append(element, children)
  return element
}

/** Sets an element's listeners (one per event; `patch` swaps them for the new render's). */
const on = (element: Element, listeners: Listeners) => {
  const before = listenersOf.get(element)
  for (const [event, f] of before ?? []) element.removeEventListener(event, f)
  for (const [event, f] of listeners) element.addEventListener(event, f)
  if (listeners.size > 0) listenersOf.set(element, listeners)
  else listenersOf.delete(element)
}


export const append = (parent: Node, children: ReadonlyArray<Child>) => {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child)
  }
}

/** Replaces what `parent` holds. */
export const fill = (parent: Element, ...children: ReadonlyArray<Child>) => {
  parent.replaceChildren()
  append(parent, children)
}

/** What tells two renders of a row apart (rows keyed by task, type, worker or status card). */
const keyOf = (e: Element) =>
  e.getAttribute("data-task") ?? e.getAttribute("data-type") ?? e.getAttribute("data-worker") ?? e.getAttribute("data-card") ?? e.getAttribute("data-schedule")

const sameKind = (live: Node, next: Node) =>
  live.nodeName === next.nodeName && live.nodeType === next.nodeType &&
  (!(live instanceof Element) || keyOf(live) === keyOf(next as Element))

const morph = (live: Node, next: Node) => {
  if (!(live instanceof Element) || !(next instanceof Element)) {
    if (live.nodeValue !== next.nodeValue) live.nodeValue = next.nodeValue
    return
  }
  for (const { name } of Array.from(live.attributes)) if (!next.hasAttribute(name)) live.removeAttribute(name)
  for (const { name, value } of Array.from(next.attributes)) if (live.getAttribute(name) !== value) live.setAttribute(name, value)
  on(live, listenersOf.get(next) ?? new Map())
  morphChildren(live, next)
}

const keyed = (node: Node): string | null => (node instanceof Element ? keyOf(node) : null)

const morphChildren = (live: Node, next: Node) => {
  const wanted = Array.from(next.childNodes)
  const wantedKeys = new Set(wanted.map(keyed).filter((k) => k !== null))
  wanted.forEach((node, i) => {
    let current: ChildNode | undefined = live.childNodes[i]
    // A keyed row that is no longer wanted goes, rather than be made into the next one (which
    // would redraw every row after it, and take the focus from a button in them).
    while (current !== undefined && keyed(current) !== null && !wantedKeys.has(keyed(current)!)) {
      current.remove()
      current = live.childNodes[i]
    }
    if (current !== undefined && sameKind(current, node)) return morph(current, node)
    // A keyed row further down (rows reordered) is moved up; anything else is new.
    const key = keyed(node)
    const later = key === null ? undefined : Array.from(live.childNodes).slice(i + 1).find((c) => keyed(c) === key && c.nodeName === node.nodeName)
    if (later !== undefined) {
      live.insertBefore(later, current ?? null)
      morph(later, node)
    } else {
      live.insertBefore(node, current ?? null)
    }
  })
  while (live.childNodes.length > wanted.length) live.lastChild!.remove()
}

/**
 * Makes what `parent` holds look like `children` (a fresh render), changing only what differs:
 * the elements that stay keep their focus and their place (no flicker, no layout shift where
 * nothing changed size), which replacing them all would lose on every live update. The
 * children must be new nodes: an element a view holds on to (a log it appends to) belongs
 * outside what it patches.
 */
export const patch = (parent: Element, ...children: ReadonlyArray<Child>) => {
  const next = document.createElement("div")
  append(next, children)
  morphChildren(parent, next)
}

/** A status as a badge whose colour the stylesheet gives by status. */
export const badge = (status: string) => h("span", { class: `badge s-${status}`, "data-status": status }, status)

export const ago = (at: number | null, now = Date.now()): string => {
  if (at === null) return "–"
  const s = Math.max(0, Math.round((now - at) / 1000))
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : s < 86_400 ? `${Math.round(s / 3600)} h ago` : new Date(at).toISOString().slice(0, 16).replace("T", " ")
}

export const ms = (value: number | null): string => (value === null ? "–" : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`)

/** Pretty JSON in a <pre>. */
export const json = (value: unknown) => h("pre", { class: "json" }, JSON.stringify(value, null, 2) ?? "null")

/** An SVG element with attributes (charts and the dependency graph). */
export const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] => {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag)
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value))
  return element
}
