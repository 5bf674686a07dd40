import { describe, expect, it } from "@effect/vitest"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as TaskDefinition from "../../src/domain/TaskDefinition.js"
import { EventFeed } from "../../src/runtime/api/EventFeed.js"
import * as Gather from "../../src/runtime/api/Gather.js"
import * as Methods from "../../src/runtime/api/Methods.js"
import * as Server from "../../src/runtime/api/Server.js"
import * as TroupeTest from "../../src/runtime/TroupeTest.js"
import * as Handlers from "../../src/workers/Handlers.js"

const Echo = TaskDefinition.make("echo", { payload: Schema.Struct({ n: Schema.Int }), success: Schema.Int, execution: "fiber" })
const runtime = TroupeTest.layer(Handlers.make(Echo.handler(({ n }) => Effect.succeed(n))))

/** A server on a free loopback port, with a fetch helper to it. */
const served = (options: Partial<Server.Options>) =>
  Server.layer({ host: "127.0.0.1", port: 0, maxBodyBytes: 2048, ...options }).pipe(Layer.provideMerge(runtime))

const post = (body: string, headers: Record<string, string> = {}) =>
  HttpServer.addressWith((address) =>
    Effect.promise(async () => {
      const port = address._tag === "TcpAddress" ? address.port : 0
      const res = await fetch(`http://127.0.0.1:${port}/rpc`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } })
      return { status: res.status, body: res.status === 204 ? null : await res.json() as unknown }
    }))

describe("JSON-RPC over HTTP", () => {
  it.live("serves calls on loopback; malformed JSON and oversized bodies are refused before the queue", () =>
    Effect.gen(function*() {
      const ok = yield* post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "health" }))
      expect(ok).toMatchObject({ status: 200, body: { id: 1, result: { level: "healthy" } } })
      expect(yield* post("{oops")).toMatchObject({ status: 200, body: { error: { code: -32700 } } })
      expect((yield* post(JSON.stringify({ jsonrpc: "2.0", method: "health" }))).status).toBe(204)
      const huge = yield* post(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "submit", params: { type: "echo", payload: { n: 1, pad: "x".repeat(5000) } } }))
      expect(huge).toMatchObject({ status: 413, body: { error: { code: -32600 } } })
    }).pipe(Effect.provide(served({}))))

  it.live("with a token, a call without the right bearer is refused", () =>
    Effect.gen(function*() {
      const call = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "health" })
      expect((yield* post(call)).status).toBe(401)
      expect((yield* post(call, { authorization: "Bearer wrong" })).status).toBe(401)
      expect((yield* post(call, { authorization: "Bearer s3cret" })).status).toBe(200)
    }).pipe(Effect.provide(served({ token: Redacted.make("s3cret") }))))

  // Reported: `GET /` was an empty 404. It is the dashboard now; GET /api says what the API serves.
  it.live("GET / is the dashboard and GET /api says what the server serves, both without a token, naming every method", () =>
    Effect.gen(function*() {
      const get = (path: string) =>
        HttpServer.addressWith((address) =>
          Effect.promise(async () => {
            const port = address._tag === "TcpAddress" ? address.port : 0
            const res = await fetch(`http://127.0.0.1:${port}${path}`)
            return { status: res.status, type: res.headers.get("content-type"), body: await res.text() }
          }))
      const dashboard = yield* get("/")
      expect([dashboard.status, dashboard.type]).toStrictEqual([200, expect.stringContaining("text/html")])
      expect(dashboard.body).toContain('<script type="module" src="/dashboard/app.js">')
      // The bundle is built by npm run build (npm test builds first).
      const script = yield* get("/dashboard/app.js")
      expect([script.status, script.type]).toStrictEqual([200, expect.stringContaining("text/javascript")])
      const page = yield* get("/api")
      expect(page.status).toBe(200)
      expect(page.type).toContain("text/html")
      for (const method of Methods.methods) expect(page.body).toContain(`<code>${method}</code>`)
      expect(page.body).toContain("<code>GET /events</code>")
      expect(page.body).toContain("Authorization: Bearer")
    }).pipe(Effect.provide(served({ token: Redacted.make("s3cret") }))))

  it.effect("binding beyond loopback without a token is refused at start-up", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Server.layer({ host: "0.0.0.0", port: 0 }).pipe(Layer.provide(runtime)))))
      expect(error.message).toContain("without a token")
    }))

  it.effect("a blank token given to the layer is no token: refused beyond loopback", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(
        Server.layer({ host: "0.0.0.0", port: 0, token: Redacted.make(" \t") }).pipe(Layer.provide(runtime))
      )))
      expect(error.message).toContain("without a token (the token option is empty, and an empty token is no token)")
    }))

  it.live("a token is compared without the spaces at its ends (HTTP drops them from the header)", () =>
    Effect.gen(function*() {
      const call = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "health" })
      expect((yield* post(call, { authorization: "Bearer s3cret" })).status).toBe(200)
      expect((yield* post(call)).status).toBe(401)
    }).pipe(Effect.provide(served({ token: Redacted.make(" s3cret\r\n") }))))

  it.live("a blank token given to the layer on loopback asks nothing of clients", () =>
    Effect.gen(function*() {
      const call = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "health" })
      expect((yield* post(call)).status).toBe(200)
    }).pipe(Effect.provide(served({ token: Redacted.make("") }))))
})

/** Reads a `GET /events` response over real HTTP until `enough` frames with ids came (comments skipped). */
const readEvents = (lastEventId: string | undefined, enough: number) =>
  HttpServer.addressWith((address) =>
    Effect.promise(async () => {
      const port = address._tag === "TcpAddress" ? address.port : 0
      const controller = new AbortController()
      const res = await fetch(`http://127.0.0.1:${port}/events`, {
        signal: controller.signal,
        headers: lastEventId === undefined ? {} : { "last-event-id": lastEventId }
      })
      const reader = res.body!.getReader()
      const frames: Array<{ id: string | undefined; event: string }> = []
      let text = ""
      while (frames.length < enough) {
        const { value } = await reader.read()
        text += new TextDecoder().decode(value)
        const blocks = text.split("\n\n")
        text = blocks.pop() ?? ""
        for (const block of blocks.filter((b) => !b.startsWith(":"))) {
          const fields = Object.fromEntries(block.split("\n").map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]))
          frames.push({ id: fields["id"], event: fields["event"]! })
        }
      }
      controller.abort()
      return { type: res.headers.get("content-type"), frames }
    }))

describe("GET /events over HTTP", () => {
  it.live("frames carry ids; a client that comes back with Last-Event-ID gets what it missed first", () =>
    Effect.gen(function*() {
      const listening = yield* Effect.fork(readEvents(undefined, 3))
      // The first client is connected once the feed has it (then the submit's events reach it).
      // Polled with a pause between looks: a tight loop would keep the HTTP exchange it waits for from running.
      yield* Effect.repeat(Effect.flatMap(EventFeed, (f) => f.clients), { schedule: Schedule.spaced("2 millis"), until: (n) => n === 1 })
      yield* post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "submit", params: { type: "echo", payload: { n: 1 } } }))
      const first = yield* Fiber.join(listening)
      expect(first.type).toContain("text/event-stream")
      // The task's arrival (pending), its start and its end.
      expect(first.frames.map((f) => f.event)).toEqual(["StatusChanged", "StatusChanged", "StatusChanged"])
      const again = yield* readEvents(first.frames[0]!.id, 1)
      expect(again.frames[0]).toEqual(first.frames[1])
      const gap = yield* readEvents("feedbeef-3", 1)
      expect(gap.frames[0]!.event).toBe("gap")
    }).pipe(Effect.provide(served({}))))
})

describe("GET /openrpc.json", () => {
  it.live("describes every method from the one API definition: params by name with their schemas, the result, the application errors", () =>
    Effect.gen(function*() {
      const doc = yield* HttpServer.addressWith((address) =>
        Effect.promise(async () => {
          const port = address._tag === "TcpAddress" ? address.port : 0
          return await (await fetch(`http://127.0.0.1:${port}/openrpc.json`)).json() as {
            openrpc: string
            methods: ReadonlyArray<{ name: string; params: ReadonlyArray<{ name: string; required: boolean; schema: Record<string, unknown> }>; result: { schema: Record<string, unknown> }; errors: ReadonlyArray<{ code: number; message: string }> }>
            components: { schemas: Record<string, Record<string, unknown>> }
            "x-streams": Record<string, { path: string; item: Record<string, unknown> }>
          }
        }))
      expect(doc.openrpc).toBe("1.3.2")
      expect(doc.methods.map((m) => m.name)).toEqual([...Methods.methods])
      const submit = doc.methods.find((m) => m.name === "submit")!
      expect(submit.params.map((p) => [p.name, p.required])).toEqual([["type", true], ["payload", true], ["options", false]])
      expect(submit.result.schema).toMatchObject({ type: "object", required: ["id"] })
      expect(submit.errors.map((e) => e.code)).toEqual(expect.arrayContaining([-32002, -32004, -32005, -32602]))
      expect(doc.components.schemas["TaskId"]).toMatchObject({ type: "string", pattern: "^[A-Za-z0-9_.:-]+$" })
      const pause = doc.methods.find((m) => m.name === "pause")!
      expect(pause.params.map((p) => [p.name, p.required])).toEqual([["id", false], ["type", false], ["queue", false]])
      expect(Object.keys(doc["x-streams"])).toEqual(["events", "watch", "logs"])
      expect(doc["x-streams"]["events"]).toMatchObject({ path: "/events", item: { anyOf: expect.any(Array) } })
    }).pipe(Effect.provide(served({ token: Redacted.make("s3cret") }))))
})

describe("single calls gathered at the HTTP edge", () => {
  // Calls that arrive together run together (their submits share commits): each still gets
  // its own answer, and one call's error is not another's.
  it.live("concurrent single calls each get their own answer: results, typed errors and invalid params side by side", () =>
    Effect.gen(function*() {
      const calls = Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? { jsonrpc: "2.0", id: `s${i}`, method: "submit", params: { type: "echo", payload: { n: i } } }
          : i % 3 === 1
          ? { jsonrpc: "2.0", id: i, method: "submit", params: { type: "echo", payload: { n: "not a number" } } }
          : { jsonrpc: "2.0", id: i, method: "get", params: { id: `missing-${i}` } })
      const answers = yield* Effect.forEach(calls, (c) => post(JSON.stringify(c)), { concurrency: "unbounded" })
      answers.forEach((a, i) => {
        const body = a.body as { id: unknown; result?: { id: string }; error?: { code: number; data?: { _tag: string } } }
        expect(body.id).toBe(calls[i]!.id)
        if (i % 3 === 0) expect(body.result?.id).toMatch(/^[0-9a-f]{12}-/)
        else if (i % 3 === 1) expect(body.error?.code).toBe(-32004)
        else expect(body.error?.data?._tag).toBe("TaskNotFound")
      })
      const ids = answers.filter((_, i) => i % 3 === 0).map((a) => (a.body as { result: { id: string } }).result.id)
      expect(new Set(ids).size).toBe(10)
    }).pipe(Effect.provide(served({}))))
})

describe("stopping the server", () => {
  it.live("an open GET /events client gets a last `shutdown` event before its connection is closed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(served({}), scope)
      const port = Context.get(context, HttpServer.HttpServer).address
      const url = `http://127.0.0.1:${port._tag === "TcpAddress" ? port.port : 0}/events`
      const body = yield* Effect.promise(() => fetch(url).then((res) => res.body!.getReader()))
      const feed = Context.get(context, EventFeed)
      yield* Effect.repeat(feed.clients, { schedule: Schedule.spaced("2 millis"), until: (n) => n === 1 })
      yield* Scope.close(scope, Exit.void)
      const text = yield* Effect.promise(async () => {
        let all = ""
        for (;;) {
          const { done, value } = await body.read().catch(() => ({ done: true, value: undefined }))
          if (done === true) return all
          all += new TextDecoder().decode(value)
        }
      })
      expect(text).toContain("event: shutdown")
      expect(text).toContain("the server is stopping")
      expect(text).not.toContain("event: end")
    }))

  it.live("a single call that comes when the gatherer has stopped is interrupted, not left waiting", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Gather.layer.pipe(Layer.provide(runtime)), scope)
      const gather = Context.get(context, Gather.Gather)
      const answered = yield* gather.handle({ jsonrpc: "2.0", id: 1, method: "counts" })
      expect(answered).toMatchObject({ id: 1, result: { pending: 0 } })
      yield* Scope.close(scope, Exit.void)
      const late = yield* Effect.exit(gather.handle({ jsonrpc: "2.0", id: 2, method: "counts" }))
      expect(Exit.isInterrupted(late)).toBe(true)
    }))
})
