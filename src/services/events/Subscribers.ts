import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { EventsOverflow } from "../../domain/TaskErrors.js"

// The subscribers of one stream of deliveries, each with a bounded buffer of its own. Handing a
// delivery out never waits: a subscriber whose buffer is full gets an overflow marker as its
// last item and leaves, so one slow reader neither slows the others nor grows without bound.
// Everything here runs in synchronous steps, so joining (with a replay) is atomic with respect
// to handing out.

const Overflow: unique symbol = Symbol.for("troupe/Subscribers/Overflow")
type Overflow = typeof Overflow

interface Subscriber<A> {
  readonly queue: Queue.Queue<A | Overflow>
  readonly capacity: number
  /** Set once it has been let go (the marker is its last item). */
  dropped: boolean
}

export interface Subscribers<A> {
  /** How many subscribe now. */
  readonly size: () => number
  /** Hands `item` to every subscriber (synchronously; one that is full is let go). */
  readonly offer: (item: A) => void
  /** Lets every subscriber go as if it had overflowed (their streams fail with EventsOverflow). */
  readonly dropAll: () => void
  /**
   * Joins for the life of the scope, with what `replay` returns queued first (called in the same
   * step as joining, so nothing handed out meanwhile is missed or doubled). The stream fails
   * with EventsOverflow once this subscriber has `capacity` deliveries waiting when another comes.
   */
  readonly subscribe: (capacity: number, replay?: () => ReadonlyArray<A>) => Effect.Effect<Stream.Stream<A, EventsOverflow>, never, Scope.Scope>
}

const full = <A>(s: Subscriber<A>) => Option.getOrElse(s.queue.unsafeSize(), () => 0) >= s.capacity

export const make = <A>(): Subscribers<A> => {
  const set = new Set<Subscriber<A>>()
  const letGo = (s: Subscriber<A>) => {
    set.delete(s)
    s.dropped = true
    // The queue is unbounded: the capacity is kept here, so the marker always fits.
    s.queue.unsafeOffer(Overflow)
  }
  return {
    size: () => set.size,
    offer: (item) => {
      for (const s of set) {
        if (full(s)) letGo(s)
        else s.queue.unsafeOffer(item)
      }
    },
    dropAll: () => {
      for (const s of set) letGo(s)
    },
    subscribe: (capacity, replay) =>
      Effect.map(
        Effect.acquireRelease(
          Effect.flatMap(Queue.unbounded<A | Overflow>(), (queue) =>
            Effect.sync(() => {
              const s: Subscriber<A> = { queue, capacity, dropped: false }
              if (replay !== undefined) for (const item of replay()) queue.unsafeOffer(item)
              set.add(s)
              return s
            })),
          (s) => Effect.zipRight(Effect.sync(() => set.delete(s)), Queue.shutdown(s.queue))
        ),
        (s) =>
          Stream.fromQueue(s.queue).pipe(
            Stream.takeUntil((item) => item === Overflow),
            Stream.filter((item): item is A => item !== Overflow),
            // It ends at the marker, or when its queue is shut down (its scope closed).
            Stream.concat(Stream.suspend(() => s.dropped ? Stream.fail(new EventsOverflow({ capacity: s.capacity })) : Stream.empty))
          )
      )
  }
}
