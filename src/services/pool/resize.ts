import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Slot from "./slot.js"
import * as State from "./state.js"
import type { Pool } from "./state.js"
import * as Supervise from "./supervise.js"

/**
 * Sets the number of threads to keep, within the pool's range: threads at or above it stop
 * taking requests and stop once their running tasks finish (a retiring thread that is wanted
 * again serves on); missing ones start. A slot that is starting finds out when its start ends.
 */
export const setTarget = (pool: Pool, n: number): Effect.Effect<void> =>
  Effect.suspend(() => {
    const { max, min } = pool.settings
    pool.target = Math.max(min, Math.min(max, Math.round(n)))
    const effects: Array<Effect.Effect<void>> = []
    for (const slot of pool.slots) {
      if (slot.index >= pool.target) {
        if (Slot.drain(slot, "retiring")) effects.push(Supervise.retire(pool, slot))
      } else if (Slot.wanted(slot)) {
        effects.push(FiberSet.run(pool.background, Supervise.startUntilLive(pool, slot, "start")).pipe(Effect.asVoid))
      } else {
        Slot.serve(slot)
      }
    }
    return Effect.all([...effects, State.refreshLive(pool), State.signalRoom(pool)], { discard: true })
  })
