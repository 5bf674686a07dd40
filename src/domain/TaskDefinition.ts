import * as Duration from "effect/Duration"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Problems from "./Problems.js"
import type * as Activity from "./Activity.js"
import * as Priority from "./Priority.js"
import * as RateLimit from "./RateLimit.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as Outcome from "./Outcome.js"
import { HandlerFailure, TaskDefect } from "./TaskErrors.js"
import type { TaskId } from "./TaskId.js"
import type { TaskRef } from "./TaskRef.js"

/** Where a task type's handler runs: on a worker thread (default) or as a fiber in-process. */
export type Execution = "thread" | "fiber"

/** Log levels a handler may use with `ctx.log`. */
export type LogLevel = Activity.LogLevel

/** What a handler receives besides its payload. */
export interface TaskContext {
  readonly taskId: TaskId
  readonly attempt: number
  /** Reports progress, clamped to 0–100, with an optional description. */
  readonly progress: (percent: number, description?: string) => Effect.Effect<void>
  /** Appends a line to the task's log. */
  readonly log: (level: LogLevel, message: string) => Effect.Effect<void>
  /**
   * The result of a task this one depends on (`dependsOn`), decoded by its definition. A task
   * runs only once all its dependencies completed (one that failed or was cancelled fails it
   * with DependencyFailed instead), so the result is there. Asking for a task that is not one
   * of its dependencies of that definition is a bug in the handler: the attempt dies
   * (TaskDefect) saying which ones there are.
   */
  readonly dependency: <P, PI, S, SI, F, FI, N extends string>(
    definition: TaskDefinition<P, PI, S, SI, F, FI, N>,
    id: TaskRef<TaskDefinition<P, PI, S, SI, F, FI, N>>
  ) => Effect.Effect<S>
  /** The results of its dependencies of this definition, in the order of `dependsOn` (a fan-in). */
  readonly dependencies: <P, PI, S, SI, F, FI, N extends string>(
    definition: TaskDefinition<P, PI, S, SI, F, FI, N>
  ) => Effect.Effect<ReadonlyArray<S>>
}

/** Declared resource needs (enforced by the ResourceGovernor). */
export interface Resources {
  readonly cpu?: number
  readonly memoryMb?: number
  readonly gpu?: number
}

export interface Options<P, PI, S, SI, F, FI> {
  readonly payload: Schema.Schema<P, PI>
  readonly success?: Schema.Schema<S, SI>
  readonly failure?: Schema.Schema<F, FI>
  readonly priority?: Priority.PriorityInput
  readonly retry?: RetryPolicy.RetryPolicyInput
  readonly timeout?: Duration.DurationInput
  readonly resources?: Resources
  readonly execution?: Execution
  readonly concurrency?: number
  /**
   * At most so many starts per interval, across every process sharing the store; tasks over it
   * wait (pending) rather than fail. `byKey`: per rate key (the submit option `rateKey`).
   */
  readonly rateLimit?: RateLimit.RateLimitInput
}

/** A named, typed task type, shared by the submitting side and the handler side. */
export interface TaskDefinition<P = unknown, PI = unknown, S = unknown, SI = unknown, F = unknown, FI = unknown, N extends string = string>
  extends Any
{
  readonly _tag: "TaskDefinition"
  /** The type's name, as a literal type: task references (TaskRef) tell definitions apart by it. */
  readonly name: N
  readonly payload: Schema.Schema<P, PI>
  readonly success: Schema.Schema<S, SI>
  readonly failure: Schema.Schema<F, FI>
  readonly priority: Priority.Priority
  readonly retry: RetryPolicy.RetryPolicy
  readonly timeout: Option.Option<Duration.Duration>
  readonly resources: Resources
  readonly execution: Execution
  readonly concurrency: Option.Option<number>
  readonly rateLimit: Option.Option<RateLimit.RateLimit>
  /** Pairs this definition with the Effect that runs it. */
  /**
   * Pairs this definition with the Effect that runs it. The Effect may require services (`R`):
   * a handlers module provides them per worker thread (`Handlers.provide`), and an app gives
   * its own to in-process handlers (`Troupe.layer({ handlers })` then requires them).
   */
  readonly handler: <R = never>(run: (payload: P, ctx: TaskContext) => Effect.Effect<S, F, R>) => TaskHandler<R>
}

/**
 * Any definition with its types erased, for registries and untyped edges (CLI, HTTP):
 * Schemas are invariant, so the erased view carries closures over them instead.
 */
export interface Any {
  readonly name: string
  /** Validates a typed payload and encodes it for storage. */
  readonly encodePayload: (payload: unknown) => Either.Either<unknown, ParseResult.ParseError>
  /** Validates an encoded payload (from JSON) and re-encodes it canonically. */
  readonly validateEncoded: (encoded: unknown) => Either.Either<unknown, ParseResult.ParseError>
  /**
   * The payload as JSON takes it (its encoded side), as a JSON Schema, for forms and other
   * languages' clients; None when the Schema has no JSON Schema form. Made once, on first ask.
   */
  readonly payloadJsonSchema: () => Option.Option<JSONSchema.JsonSchema7Root>
  readonly priority: Priority.Priority
  readonly retry: RetryPolicy.RetryPolicy
  readonly timeout: Option.Option<Duration.Duration>
  readonly resources: Resources
  readonly execution: Execution
  readonly concurrency: Option.Option<number>
  /** Starts per interval, held by the store (None: no limit). */
  readonly rateLimit: Option.Option<RateLimit.RateLimit>
}

/**
 * A definition paired with its handler, as registered in a handlers module. `execute` takes
 * the encoded payload and returns an encoded Outcome, so executors never see the types.
 */
export interface TaskHandler<R = never> {
  readonly _tag: "TaskHandler"
  readonly definition: Any
  readonly execute: (taskId: TaskId, payload: unknown, ctx: TaskContext) => Effect.Effect<Outcome.Outcome, never, R>
}

export type Payload<D> = D extends TaskDefinition<infer P, infer _PI, infer _S, infer _SI, infer _F, infer _FI, infer _N> ? P : never
export type Success<D> = D extends TaskDefinition<infer _P, infer _PI, infer S, infer _SI, infer _F, infer _FI> ? S : never
export type Failure<D> = D extends TaskDefinition<infer _P, infer _PI, infer _S, infer _SI, infer F, infer _FI> ? F : never

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/

/**
 * Defines a task type. Invalid static options (a bad name, a retry policy out of range) are a
 * programming error and throw when the module loads, before anything runs.
 */
export const make = <P, PI, S = void, SI = void, F = never, FI = never, const N extends string = string>(
  name: N,
  options: Options<P, PI, S, SI, F, FI>
): TaskDefinition<P, PI, S, SI, F, FI, N> => {
  if (!NAME.test(name)) {
    throw new Error(`TaskDefinition.make: invalid name "${name}" (letters, digits, _ . : - ; at most 128)`)
  }
  const retry = Either.getOrThrowWith(
    RetryPolicy.makeEither(options.retry ?? {}),
    (e) => new Error(`TaskDefinition.make("${name}"): invalid retry policy: ${e.message}`)
  )
  const rateLimit = options.rateLimit === undefined ? Option.none() : Option.some(Either.getOrThrowWith(
    RateLimit.make(options.rateLimit),
    (message) => new Error(`TaskDefinition.make("${name}"): invalid rate limit: ${message}`)
  ))
  const definition: TaskDefinition<P, PI, S, SI, F, FI, N> = {
    _tag: "TaskDefinition",
    name,
    payload: options.payload,
    success: options.success ?? (Schema.Void as unknown as Schema.Schema<S, SI>),
    failure: options.failure ?? (Schema.Never as unknown as Schema.Schema<F, FI>),
    priority: options.priority === undefined
      ? Priority.defaultPriority
      : Schema.decodeUnknownSync(Priority.Priority)(Priority.resolve(options.priority)),
    retry,
    timeout: Option.map(Option.fromNullable(options.timeout), Duration.decode),
    resources: options.resources ?? {},
    execution: options.execution ?? "thread",
    concurrency: Option.fromNullable(options.concurrency),
    rateLimit,
    encodePayload: Problems.encodeUnknownEither(options.payload),
    validateEncoded: (encoded) => Either.flatMap(Problems.decodeUnknownEither(options.payload)(encoded), Schema.encodeEither(options.payload)),
    payloadJsonSchema: jsonSchemaOf(options.payload),
    handler: (run) => ({ _tag: "TaskHandler", definition, execute: makeExecute(definition, run) })
  }
  return definition
}

const jsonSchemaOf = (schema: Schema.Schema.Any) => {
  let made: Option.Option<JSONSchema.JsonSchema7Root> | undefined
  return () => {
    if (made === undefined) {
      try {
        made = Option.some(JSONSchema.make(Schema.encodedSchema(schema)))
      } catch {
        // A declaration with no JSON Schema annotation (a class instance, say): none.
        made = Option.none()
      }
    }
    return made
  }
}

const describe = (cause: Cause.Cause<unknown>): string => Cause.pretty(cause).split("\n")[0] ?? "unknown defect"

/** decode payload → run → encode success or typed failure; defects become TaskDefect. */
const makeExecute = <P, PI, S, SI, F, FI, R>(
  definition: TaskDefinition<P, PI, S, SI, F, FI>,
  run: (payload: P, ctx: TaskContext) => Effect.Effect<S, F, R>
) => {
  // Schemas run synchronously (Either) on this hot path; payload and result schemas must not
  // need async transformations.
  const decodePayload = Schema.decodeUnknownEither(definition.payload)
  const encodeSuccess = Schema.encodeEither(definition.success)
  const encodeFailure = Schema.encodeEither(definition.failure)
  const failed = (id: TaskId, error: Outcome.Failed["error"]) => new Outcome.Failed({ id, error }, { disableValidation: true })
  return (taskId: TaskId, payload: unknown, ctx: TaskContext): Effect.Effect<Outcome.Outcome, never, R> => {
    const decoded = decodePayload(payload)
    if (Either.isLeft(decoded)) {
      return Effect.succeed(failed(taskId, new TaskDefect({ reason: "decode", message: `payload: ${decoded.left.message}` })))
    }
    return Effect.matchCause(Effect.suspend(() => run(decoded.right, ctx)), {
      onSuccess: (value): Outcome.Outcome =>
        Either.match(encodeSuccess(value), {
          onLeft: (e) => failed(taskId, new TaskDefect({ reason: "encode", message: `result: ${e.message}` })),
          onRight: (result) => new Outcome.Succeeded({ id: taskId, result }, { disableValidation: true })
        }),
      onFailure: (cause): Outcome.Outcome =>
        Option.match(Cause.failureOption(cause), {
          onNone: () =>
            failed(taskId, new TaskDefect({ reason: Cause.isInterruptedOnly(cause) ? "interrupted" : "defect", message: describe(cause) })),
          onSome: (failure) =>
            Either.match(encodeFailure(failure), {
              onLeft: (e) => failed(taskId, new TaskDefect({ reason: "encode", message: `failure: ${e.message}` })),
              onRight: (error) => failed(taskId, new HandlerFailure({ error, message: failureMessage(failure) }))
            })
        })
    })
  }
}

const failureMessage = (failure: unknown): string => {
  if (typeof failure === "object" && failure !== null) {
    const m = (failure as { message?: unknown }).message
    const tag = (failure as { _tag?: unknown })._tag
    if (typeof m === "string" && m.length > 0) return typeof tag === "string" ? `${tag}: ${m}` : m
    if (typeof tag === "string") return tag
  }
  return String(failure)
}
