import { call, RpcError } from "../api.js"
import type { ResultOf } from "../api.js"
import { fill, h } from "../dom.js"
import type { View } from "../view.js"

// Submit a task from a form made from its type's payload JSON Schema (the API's `types`): a
// field per property (text, number, checkbox, a choice for enums, a fieldset for an object,
// JSON for the rest), or the payload as raw JSON. The server validates as it does any submit,
// and its message is shown as it comes: the same errors as the API.

type TaskTypes = ResultOf<"types">
type JsonSchema = {
  readonly type?: string
  readonly enum?: ReadonlyArray<unknown>
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: ReadonlyArray<string>
  readonly $ref?: string
  readonly $defs?: Readonly<Record<string, JsonSchema>>
  readonly description?: string
}

/** Follows a local `$ref` (`#/$defs/Name`). */
const resolve = (root: JsonSchema, schema: JsonSchema): JsonSchema =>
  schema.$ref?.startsWith("#/$defs/") === true ? resolve(root, root.$defs?.[schema.$ref.slice(8)] ?? {}) : schema

interface Field {
  readonly element: HTMLElement
  /** The value the field holds; undefined: left empty (an optional property is then left out). */
  readonly read: () => unknown
}

const field = (root: JsonSchema, name: string, raw: JsonSchema, required: boolean, path: string): Field => {
  const schema = resolve(root, raw)
  const label = (control: HTMLElement) =>
    h("label", { class: "field" }, h("span", {}, name, required ? "" : " (optional)"), control)
  if (schema.enum !== undefined) {
    const select = h("select", { name: path }, required ? null : h("option", { value: "" }, "–"),
      ...schema.enum.map((v, i) => h("option", { value: String(i) }, JSON.stringify(v))))
    return { element: label(select), read: () => (select.value === "" ? undefined : schema.enum![Number(select.value)]) }
  }
  switch (schema.type) {
    case "string": {
      const input = h("input", { name: path, type: "text" })
      return { element: label(input), read: () => (input.value === "" && !required ? undefined : input.value) }
    }
    case "number":
    case "integer": {
      // Any number passes the browser; the server says what is wrong with it (an integer, a range).
      const input = h("input", { name: path, type: "number", step: "any" })
      return { element: label(input), read: () => (input.value === "" ? (required ? Number.NaN : undefined) : Number(input.value)) }
    }
    case "boolean": {
      const input = h("input", { name: path, type: "checkbox" })
      return { element: h("label", { class: "field check" }, input, h("span", {}, name)), read: () => input.checked }
    }
    case "object":
      if (schema.properties !== undefined) {
        const inner = object(root, schema, path)
        return { element: h("fieldset", {}, h("legend", {}, name), ...inner.elements), read: inner.read }
      }
  }
  const area = h("textarea", { name: path, rows: 3, placeholder: "JSON" })
  return {
    element: label(area),
    read: () => {
      if (area.value.trim() === "") return required ? null : undefined
      return JSON.parse(area.value) as unknown
    }
  }
}

const object = (root: JsonSchema, schema: JsonSchema, path: string) => {
  const fields = Object.entries(schema.properties ?? {}).map(([name, s]) => [name, field(root, name, s, schema.required?.includes(name) === true, path === "" ? name : `${path}.${name}`)] as const)
  return {
    elements: fields.map(([, f]) => f.element),
    read: () => {
      const value: Record<string, unknown> = {}
      for (const [name, f] of fields) {
        const v = f.read()
        if (v !== undefined) value[name] = v
      }
      return value
    }
  }
}

const chooser = (types: TaskTypes) =>
  types.length === 0
    ? h("p", { class: "empty" }, "This server runs no task types (it was started without --handlers).")
    : h("ul", { class: "types" }, ...types.map((t) =>
      h("li", {}, h("a", { href: `#/submit?type=${encodeURIComponent(t.name)}` }, t.name), ` (${t.execution}${t.concurrency === null ? "" : `, at most ${t.concurrency} at once`})`)))

export const submit = (typeName: string | undefined): View => {
  const root = h("div", { class: "submit" })
  let built = false
  const refresh = async () => {
    // Built once: a reconnect or a lost event must not wipe what was typed.
    if (built) return
    built = true
    const types = await call("types", {})
    const type = types.find((t) => t.name === typeName)
    if (type === undefined) {
      return fill(root, h("h1", {}, "Submit a task"), typeName === undefined ? null : h("p", { class: "problem" }, `No task type named ${typeName}.`), chooser(types))
    }
    const schema = (type.payload ?? {}) as JsonSchema
    const form = resolve(schema, schema).type === "object" ? object(schema, resolve(schema, schema), "") : undefined
    const raw = h("textarea", { name: "payload", rows: 6, "aria-label": "payload as JSON" }, form === undefined ? "{}" : "")
    const useRaw = h("input", { type: "checkbox", name: "raw", checked: form === undefined })
    const priority = h("input", { name: "priority", type: "number", step: "1", placeholder: String(type.priority) })
    const key = h("input", { name: "key", type: "text" })
    const id = h("input", { name: "id", type: "text" })
    const problem = h("p", { class: "problem", role: "alert", hidden: true })
    const fields = h("div", { class: "fields-form", hidden: form === undefined }, ...(form?.elements ?? []))
    const rawBox = h("div", { hidden: form !== undefined }, raw)
    useRaw.addEventListener("change", () => {
      if (useRaw.checked && form !== undefined) raw.value = JSON.stringify(form.read(), null, 2)
      fields.hidden = useRaw.checked
      rawBox.hidden = !useRaw.checked
    })
    const send = async (e: Event) => {
      e.preventDefault()
      problem.hidden = true
      try {
        const payload = useRaw.checked || form === undefined ? JSON.parse(raw.value) as unknown : form.read()
        const options = {
          ...(priority.value === "" ? {} : { priority: Number(priority.value) }),
          ...(key.value === "" ? {} : { key: key.value }),
          ...(id.value === "" ? {} : { id: id.value })
        }
        const answer = await call("submit", { type: type.name, payload, ...(Object.keys(options).length === 0 ? {} : { options }) })
        location.hash = `#/task/${encodeURIComponent(answer.id)}`
      } catch (error) {
        problem.hidden = false
        problem.textContent = error instanceof RpcError || error instanceof SyntaxError ? error.message : String(error)
      }
    }
    fill(root,
      h("h1", {}, "Submit ", type.name),
      h("form", { class: "submit-form", onsubmit: (e: Event) => void send(e) },
        h("h2", {}, "Payload"),
        fields,
        h("label", { class: "field check" }, useRaw, h("span", {}, "edit as JSON")),
        rawBox,
        h("h2", {}, "Options"),
        h("label", { class: "field" }, h("span", {}, "priority (optional)"), priority),
        h("label", { class: "field" }, h("span", {}, "actor key (optional)"), key),
        h("label", { class: "field" }, h("span", {}, "id (optional)"), id),
        problem,
        h("button", { type: "submit" }, "Submit")))
  }
  return { root, refresh }
}
