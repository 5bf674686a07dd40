import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Pg from "pg"

// LISTEN on a connection of its own. PgClient.listen (0.53) ignores its connection's errors: once
// that connection is cut the stream neither fails nor ends, and the node never hears another
// notification. Here the stream fails when the connection errors or ends, so the caller's retry
// reconnects; and it starts with every payload it may carry, since what was said while no one
// listened is not known.

/** The payloads of `channel`'s notifications, starting with each of `initial`; fails with the connection. */
export const listen = (url: Redacted.Redacted<string>, channel: string, initial: ReadonlyArray<string>): Stream.Stream<string, Error> =>
  Stream.asyncScoped<string, Error>((emit) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const client = new Pg.Client({ connectionString: Redacted.value(url), application_name: "troupe-listen" })
          client.on("notification", (n) => {
            if (n.channel === channel) void emit.single(n.payload ?? "")
          })
          client.on("error", (e) => void emit.fail(e))
          client.on("end", () => void emit.fail(new Error("the LISTEN connection ended")))
          await client.connect()
          await client.query(`LISTEN ${channel}`)
          return client
        },
        catch: (e) => (e instanceof Error ? e : new Error(String(e)))
      }),
      (client) =>
        Effect.promise(() => {
          client.removeAllListeners("end")
          client.removeAllListeners("error")
          client.on("error", () => undefined)
          return client.end().catch(() => undefined)
        })
    ).pipe(Effect.tap(() => Effect.forEach(initial, (payload) => Effect.promise(() => emit.single(payload)), { discard: true }))))
