import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Problems from "../../domain/Problems.js"
import type { StoreError } from "../../domain/TaskErrors.js"
import { InvalidPayload, InvalidSchedule, UnknownTaskType } from "../../domain/TaskErrors.js"
import * as TaskSchedule from "../../domain/TaskSchedule.js"
import type { ScheduleRow } from "../store/sqlite/schedules.js"
import type { TaskStore } from "../store/TaskStore.js"
import type { Registry } from "./Registry.js"
import type { EncodedItem, SubmitError } from "./TaskQueue.js"

// Schedules: stored by `schedule`, fired by every process that knows the task type (its
// handlers module or registry has it). A firing process reads the schedules, submits each due
// occurrence with an idempotency key made of the schedule's name and the occurrence's instant
// (so two processes firing the same occurrence store one task, and a restart does not store it
// again), then moves the next occurrence forward from the value it read. It sleeps until the
// earliest next occurrence, at most the poll interval (schedules made elsewhere), or until
// this process changes one.

export interface Deps {
  readonly store: TaskStore["Type"]
  readonly registry: Registry["Type"]
  readonly submit: (items: ReadonlyArray<EncodedItem>) => Effect.Effect<ReadonlyArray<unknown>, SubmitError>
  readonly pollIntervalMs: number
}

const ScheduleName = Schema.decodeUnknownEither(TaskSchedule.ScheduleName)

/**
 * Options as they go on the wire: durations as milliseconds (a Duration, or nanoseconds as a
 * bigint, do not survive JSON; JSON.stringify would see a Duration's own toJSON first).
 */
const wire = (value: unknown): unknown =>
  Duration.isDuration(value) ? Duration.toMillis(value)
  : typeof value === "bigint" ? Duration.toMillis(Duration.nanos(value))
  : Array.isArray(value) ? value.map(wire)
  : typeof value === "object" && value !== null ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wire(v)]))
  : value

/** The submit options of each occurrence: what ScheduleOptions holds besides its rule. */
const occurrenceOptions = ({ cron: _c, every: _e, misfire: _m, timezone: _t, ...submit }: TaskSchedule.ScheduleOptions) => submit

const view = (row: ScheduleRow): TaskSchedule.TaskSchedule => ({
  name: row.name,
  type: row.type,
  payload: JSON.parse(row.payload) as unknown,
  cron: row.cron,
  everyMs: row.everyMs,
  timezone: row.timezone,
  misfire: row.misfire === "skip" ? "skip" : "once",
  options: JSON.parse(row.options) as unknown,
  nextAt: row.nextAt,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt
})

const ruleOf = (row: ScheduleRow) =>
  TaskSchedule.rule({
    ...(row.cron === null ? {} : { cron: row.cron }),
    ...(row.everyMs === null ? {} : { every: row.everyMs }),
    ...(row.timezone === null ? {} : { timezone: row.timezone })
  }, row.createdAt)

export const make = ({ pollIntervalMs, registry, store, submit }: Deps) =>
  Effect.gen(function*() {
    const changed = yield* Queue.sliding<void>(1)

    /**
     * Stores a schedule (replacing one of the same name) with an encoded payload: its name and
     * rule checked, then the type and payload as a submit would. Its first occurrence is the
     * first after now, unless the same type and rule were stored under that name already.
     */
    const put = (name: string, type: string, payload: unknown, options: TaskSchedule.ScheduleOptions) =>
      Effect.gen(function*() {
        if (Either.isLeft(ScheduleName(name))) {
          return yield* new InvalidSchedule({ schedule: name, reason: "a name is 1 to 128 letters, digits, or _ . : -" })
        }
        const now = yield* Clock.currentTimeMillis
        const rule = TaskSchedule.rule(options, now)
        if (Either.isLeft(rule)) return yield* new InvalidSchedule({ schedule: name, reason: rule.left })
        const definition = registry.definition(type)
        if (Option.isNone(definition) && registry.names.length > 0) return yield* new UnknownTaskType({ taskType: type, known: registry.names })
        if (Option.isSome(definition)) {
          const checked = definition.value.validateEncoded(payload)
          if (Either.isLeft(checked)) return yield* new InvalidPayload({ taskType: type, message: Problems.message(checked.left, "payload") })
        }
        const cron = options.cron ?? null
        const everyMs = rule.right._tag === "Every" ? rule.right.ms : null
        const timezone = options.timezone ?? null
        // Declared again with the same type and rule (an app declaring its schedules at every
        // start): it keeps its next occurrence and anchor, so what came due while the app was
        // down still fires (misfire policy) and an `every` is not pushed back by each restart.
        const before = (yield* store.schedules).find((r) => r.name === name)
        const same = before !== undefined && before.type === type && before.cron === cron && before.everyMs === everyMs && before.timezone === timezone
        const row: ScheduleRow = {
          name,
          type,
          payload: JSON.stringify(payload),
          cron,
          everyMs,
          timezone,
          misfire: options.misfire ?? "once",
          options: JSON.stringify(wire(occurrenceOptions(options))),
          nextAt: same ? before.nextAt : TaskSchedule.nextAfter(rule.right, now),
          createdAt: same ? before.createdAt : now,
          updatedAt: now
        }
        yield* store.putSchedule(row)
        yield* Queue.offer(changed, undefined)
        return view(row)
      })

    const remove = (name: string) => Effect.tap(store.removeSchedule(name), () => Queue.offer(changed, undefined))

    /**
     * Fires what is due of one schedule; when to look at it again: its next occurrence, now
     * when another process moved it first (read it again), never when it cannot be read here.
     */
    const fireOne = (row: ScheduleRow, now: number): Effect.Effect<number, StoreError> =>
      Effect.gen(function*() {
        const rule = ruleOf(row)
        if (Either.isLeft(rule)) {
          // Stored by a version that read it otherwise (a time zone gone from this Node's data).
          yield* Effect.logWarning(`schedule ${row.name} is not fired here: ${rule.left}`)
          return Number.POSITIVE_INFINITY
        }
        const { fire, next } = TaskSchedule.due(rule.right, row.nextAt, now, row.misfire === "skip" ? "skip" : "once")
        if (fire.length > 0) {
          const options = JSON.parse(row.options) as Record<string, unknown>
          const items = fire.map((at): EncodedItem => ({
            type: row.type,
            payload: JSON.parse(row.payload) as unknown,
            options: { ...options, runAt: at, idempotencyKey: TaskSchedule.occurrenceKey(row.name, at) }
          }))
          // A store error, or a full queue, leaves the occurrence due (fired again later, the
          // same task by its key); one the type refuses now (its Schema changed) is reported
          // and passed.
          const refused = yield* submit(items).pipe(
            Effect.as(false),
            Effect.catchIf(
              (e): e is Exclude<SubmitError, StoreError> => e._tag !== "StoreError",
              (e) =>
                e._tag === "QueueFull"
                  ? Effect.as(Effect.logWarning(`schedule ${row.name}: ${e.message}; trying again`), true)
                  : Effect.as(Effect.logWarning(`schedule ${row.name}: the occurrence at ${new Date(fire[0]!).toISOString()} was not submitted: ${e.message}`), false)
            )
          )
          if (refused) return now + pollIntervalMs
        }
        if (next === row.nextAt) return next
        return (yield* store.advanceSchedule(row.name, row.nextAt, next)) ? next : now
      })

    /** Fires every due schedule of a type known here; the earliest next occurrence among them. */
    const fireDue = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let earliest = Number.POSITIVE_INFINITY
      for (const row of yield* store.schedules) {
        if (Option.isNone(registry.definition(row.type))) continue
        // One schedule's failure (other than the store's) does not hold up the others.
        const next = yield* fireOne(row, now).pipe(
          Effect.catchAllDefect((defect) => Effect.as(Effect.logWarning(`schedule ${row.name} could not be fired`, defect), now + pollIntervalMs))
        )
        earliest = Math.min(earliest, next)
      }
      return earliest
    })

    const loop = Effect.gen(function*() {
      for (;;) {
        // Whatever fails (the store away, or a defect) is reported and tried again after the
        // poll interval: the loop itself never ends.
        const earliest = yield* fireDue.pipe(
          Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("schedules could not be fired; trying again", Cause.squash(cause)), Number.POSITIVE_INFINITY))
        )
        const now = yield* Clock.currentTimeMillis
        const wait = Math.min(earliest - now, pollIntervalMs)
        if (wait > 0) yield* Effect.race(Effect.sleep(Duration.millis(wait)), Queue.take(changed))
      }
    })

    return {
      put,
      remove,
      list: Effect.map(store.schedules, (rows) => rows.map(view)),
      /** The firing loop, for the layer's scope (only where some type is known). */
      run: registry.names.length === 0 ? Effect.never : loop
    }
  })
