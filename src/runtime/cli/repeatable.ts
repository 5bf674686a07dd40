import * as Options from "@effect/cli/Options"
import * as Option from "effect/Option"

/**
 * A flag that may be given any number of times, shown as optional in the help (@effect/cli
 * renders a bare `Options.repeated` as if it were required).
 */
export const repeatable = (option: Options.Options<string>): Options.Options<ReadonlyArray<string>> =>
  option.pipe(Options.repeated, Options.optional, Options.map(Option.getOrElse((): ReadonlyArray<string> => [])))
