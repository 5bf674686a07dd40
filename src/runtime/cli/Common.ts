import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Client from "../client/Http.js"
import * as Api from "../api/Api.js"
import * as Token from "../api/Token.js"
import { CliExit, ExitCode, fromClientError } from "./ExitCode.js"
import * as Live from "./Live.js"
import type * as Render from "./Render.js"

// What every client command shares: the server address and token flags, the client, JSON
// output, and the parsing of payloads, priorities and durations.

export const common = {
  url: Options.text("url").pipe(
    Options.withFallbackConfig(Config.string("TROUPE_URL").pipe(Config.withDefault("http://127.0.0.1:7420"))),
    Options.withDescription("address of the troupe server (env TROUPE_URL; default http://127.0.0.1:7420)")
  ),
  token: Options.redacted("token").pipe(
    Options.optional,
    Options.withDescription("bearer token, when the server has one (env TROUPE_TOKEN)")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("print JSON for scripts instead of tables"))
}

export interface Common {
  readonly url: string
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly json: boolean
}

/** Runs a command body against the server; client failures become their documented exit code. */
export const withClient = <A, E extends Client.ClientError | Client.RemoteError | CliExit>(
  c: Common,
  body: (client: Client.Client["Type"]) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    // A blank token is no token here too: no empty Authorization header is sent.
    const { token } = yield* Token.fromFlagOrEnv(c.token)
    const client = yield* Effect.provide(Client.Client, Client.layer({ url: c.url, token }))
    return yield* body(client)
  }).pipe(Effect.mapError((e) => (e._tag === "CliExit" ? e : fromClientError(e))))

export const decode = <A, I>(schema: Schema.Schema<A, I>, u: unknown) =>
  Effect.mapError(Schema.decodeUnknown(schema)(u), (e) => new CliExit({ code: ExitCode.error, message: `unexpected answer: ${e.message}` }))

export const printJson = (u: unknown) => Console.log(JSON.stringify(u, null, 2))

export const taskId = Args.text({ name: "task-id" }).pipe(Args.withDescription("the task's id"))

export const payloadOf = (text: Option.Option<string>) =>
  Option.match(text, {
    onNone: () => Effect.succeed<unknown>({}),
    onSome: (json) =>
      Effect.try({
        try: (): unknown => JSON.parse(json),
        catch: (e) => new CliExit({ code: ExitCode.usage, message: `payload is not valid JSON: ${e instanceof Error ? e.message : String(e)}` })
      })
  })

export const parsePriority = (p: string): string | number => (/^-?\d+$/.test(p) ? Number(p) : p)

export const durationParam = (d: string): string | number => (/^\d+(\.\d+)?$/.test(d) ? Number(d) : d)

export const events = (client: Client.Client["Type"], path: string) =>
  client.events(path).pipe(
    Stream.map((e) => e.data),
    Stream.filterMap(Schema.decodeUnknownOption(Live.EventView))
  )



/** What is paused as a whole, or undefined when the server cannot say (it is only a hint). */
export const pauses = (client: Client.Client["Type"]): Effect.Effect<Render.Paused | undefined> =>
  client.call("stats").pipe(
    Effect.flatMap((u) => decode(Api.api.stats.success, u)),
    Effect.map((s) => s.paused),
    Effect.orElseSucceed(() => undefined)
  )
