import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

// The API's bearer token: where it came from, the rule that an empty token is no token
// (SPEC), and when serving without one is refused. The token stays Redacted until the server
// compares it (Server.authorized).

/** Where the token was given: a CLI flag, the environment, or the server layer's option. */
export type Source = "--token" | "TROUPE_TOKEN" | "the token option"

export interface Resolved {
  /** The token clients must present; undefined: none. */
  readonly token: Redacted.Redacted<string> | undefined
  readonly source: Source | undefined
  /** A token was given here but is empty or blank, so there is none. */
  readonly blank: Source | undefined
}

const none: Resolved = { token: undefined, source: undefined, blank: undefined }

/**
 * A token without the spaces at its ends (HTTP drops them from a header, so a token ending in
 * one, say from a CRLF env file, could never match); an empty or blank one is none.
 */
const given = (token: Redacted.Redacted<string>, source: Source): Resolved => {
  const text = Redacted.value(token)
  const trimmed = text.trim()
  if (trimmed.length === 0) return { token: undefined, source: undefined, blank: source }
  return { token: trimmed === text ? token : Redacted.make(trimmed), source, blank: undefined }
}

/** The flag wins over the environment; a blank token counts as none. */
export const resolve = (flag: Option.Option<Redacted.Redacted<string>>, env: Option.Option<Redacted.Redacted<string>>): Resolved =>
  Option.isSome(flag) ? given(flag.value, "--token") : Option.isSome(env) ? given(env.value, "TROUPE_TOKEN") : none

/** The token of the flag, else of TROUPE_TOKEN (server and CLI alike). */
export const fromFlagOrEnv = (flag: Option.Option<Redacted.Redacted<string>>): Effect.Effect<Resolved> =>
  Effect.map(Effect.orDie(Config.option(Config.redacted("TROUPE_TOKEN"))), (env) => resolve(flag, env))

/** A token given to the server layer directly. */
export const ofOption = (token: Redacted.Redacted<string> | undefined): Resolved =>
  token === undefined ? none : given(token, "the token option")

const LOOPBACK: ReadonlySet<string> = new Set(["127.0.0.1", "::1", "localhost"])

/** Why serving on `host` is refused, if it is: beyond loopback a token is required, and an empty one is no token. */
export const refusal = (host: string, resolved: Resolved): string | undefined => {
  if (LOOPBACK.has(host) || resolved.token !== undefined) return undefined
  const why = resolved.blank === undefined ? "" : ` (${resolved.blank} is empty, and an empty token is no token)`
  return `refusing to serve on ${host} without a token${why}: bind 127.0.0.1, or set a non-empty bearer token with --token or TROUPE_TOKEN`
}

/** For the banner: whether clients need a token, and where it came from. */
export const describe = (resolved: Resolved): string =>
  resolved.token !== undefined
    ? `token required (from ${resolved.source})`
    : resolved.blank !== undefined
    ? `token none (${resolved.blank} is empty, so ignored)`
    : "token none"
