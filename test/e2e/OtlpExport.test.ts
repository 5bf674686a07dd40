import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { cli, operateHandlers, startServer } from "../support/process.js"

// `troupe start` with the standard OTEL_* variables pointing at a collector on loopback (a
// plain HTTP server here, reading OTLP/HTTP JSON): the spans of a job arrive as one trace, and
// the ones still buffered are flushed when the server shuts down.

interface OtlpSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string; readonly intValue?: number | string } }>
}

interface Received {
  readonly path: string
  readonly body: unknown
}

const received: Array<Received> = []
let collector: http.Server
let endpoint = ""

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => { body += c.toString() })
    req.on("end", () => {
      received.push({ path: req.url ?? "", body: JSON.parse(body) as unknown })
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())))

const spans = (): Array<OtlpSpan> =>
  received.filter((r) => r.path === "/v1/traces").flatMap((r) =>
    (r.body as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<OtlpSpan> }> }> }).resourceSpans
      .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)))

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue))
}

describe("OTLP export from troupe start", () => {
  it("a job's submit, dispatch and attempt (in a worker thread) reach the collector as one trace", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "troupe-otlp-"))
    const server = await startServer(["--handlers", operateHandlers, "--database", path.join(dir, "q.db"), "--num-workers", "1"], {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: "troupe-e2e"
    })
    let ran: Awaited<ReturnType<typeof cli>>
    try {
      ran = await cli(server.url, ["submit", "echo", `{"n": 3}`, "--priority", "high", "--wait", "--json"])
    } finally {
      // Buffered spans and metrics are flushed on shutdown.
      server.process.kill("SIGTERM")
    }
    expect(await server.exited).toBe(0)
    expect(ran.code).toBe(0)
    expect(server.output().replace(/\s+/g, " ")).toContain(`telemetry: traces + metrics over OTLP/HTTP to ${endpoint}/v1/traces (service troupe-e2e)`)
    const { id } = JSON.parse(ran.stdout.slice(ran.stdout.indexOf("{\n"))) as { id: string }

    const ofTask = spans().filter((s) => attribute(s, "task.id") === id)
    const one = (name: string) => {
      const found = ofTask.filter((s) => s.name === name)
      expect(found.length, name).toBe(1)
      return found[0]!
    }
    const submit = one("troupe.submit")
    const dispatch = one("troupe.dispatch")
    const attempt = one("troupe.attempt")
    expect(new Set([submit.traceId, dispatch.traceId, attempt.traceId]).size).toBe(1)
    // The submit runs under the HTTP request's span (its calls are gathered, not cut off from it).
    const request = spans().find((s) => s.spanId === submit.parentSpanId)
    expect(request?.name).toMatch(/^http\.server POST/)
    expect(request?.traceId).toBe(submit.traceId)
    expect(dispatch.parentSpanId).toBe(submit.spanId)
    expect(attempt.parentSpanId).toBe(dispatch.spanId)
    expect([attribute(attempt, "task.type"), attribute(attempt, "task.attempt"), attribute(attempt, "task.priority")]).toEqual(["echo", 1, 20])
    const resource = (received.find((r) => r.path === "/v1/traces")!.body as {
      resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> } }>
    }).resourceSpans[0]!.resource.attributes
    expect(resource).toContainEqual({ key: "service.name", value: { stringValue: "troupe-e2e" } })
    expect(received.some((r) => r.path === "/v1/metrics")).toBe(true)
    fs.rmSync(dir, { recursive: true, force: true })
  }, 120_000)
})
