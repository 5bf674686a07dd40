import * as Rank from "../../domain/Rank.js"
import type { ReadyRef } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"

/**
 * The scheduler's ready mailbox: a bounded binary min-heap of ready tasks ordered by
 * (rank, seq) — priority with aging, FIFO within a priority (TPriorityQueue's reversed ties
 * are why this is not a TPriorityQueue). It holds the best `capacity` pending tasks; the rest
 * stay in the store and come in pages (`merge`), so memory does not grow with the backlog.
 *
 * `exhaustive` is true while the mailbox is known to hold every pending task, so a page read
 * can be skipped. It is owned by one fiber (the dispatcher) and never shared.
 */
export class Mailbox {
  private readonly heap: Array<ReadyRef> = []
  private readonly ids = new Set<TaskId>()
  /** The worst entry, cached: taking the best never changes it; evicting it forgets it. */
  private worstCache: ReadyRef | undefined
  exhaustive = false
  /**
   * While not exhaustive: every pending task left in the store ranks at or after this one
   * (the last of the page read, or an entry evicted to the store); undefined when unknown (the
   * store changed behind the mailbox's back), and then a refill must come before a take.
   */
  private floor: ReadyRef | undefined = undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.heap.length
  }

  has(id: TaskId): boolean {
    return this.ids.has(id)
  }

  peek(): ReadyRef | undefined {
    return this.heap[0]
  }

  /**
   * Offers a task that just became ready. While the mailbox is not exhaustive, every task left
   * in the store ranks at or below its worst entry, so a newcomer that ranks below that waits in
   * the store too (a refill brings it). When full, the worst entry is evicted if the newcomer
   * outranks it (the evicted task stays pending in the store).
   */
  offer(ref: ReadyRef): void {
    if (this.ids.has(ref.id)) return
    // Not exhaustive: only a newcomer that outranks everything left in the store may come in;
    // the others wait there (a refill brings the best). Found by the property test: with a
    // mailbox emptied by takes, a newcomer was admitted ahead of an older task of the same
    // rank left in the store.
    if (!this.exhaustive && (this.floor === undefined || Rank.compare(ref, this.floor) >= 0)) return
    if (this.heap.length < this.capacity) {
      this.push(ref)
      return
    }
    if (Rank.compare(ref, this.worst()) < 0) {
      const evicted = this.heap[this.worstIndex()]!
      this.removeAt(this.worstIndex())
      this.push(ref)
      this.toStore(evicted)
    } else {
      this.toStore(ref)
    }
  }

  /** Whether a take needs a refill first: the store may hold better tasks than any here. */
  get stale(): boolean {
    return !this.exhaustive && this.floor === undefined
  }

  /** The store changed behind the mailbox's back (tasks woken, given back, resumed). */
  markStale(): void {
    this.exhaustive = false
    this.floor = undefined
  }

  /** A pending task is (back) in the store, not here: it bounds what the store holds. */
  private toStore(ref: ReadyRef): void {
    if (this.exhaustive) {
      this.exhaustive = false
      this.floor = ref
    } else if (this.floor !== undefined && Rank.compare(ref, this.floor) < 0) {
      this.floor = ref
    }
  }

  /**
   * Merges the store's best page (`limit` asked for) into the mailbox and keeps the best
   * `capacity`. A short page with nothing cut means the mailbox now holds every pending task.
   */
  merge(page: ReadonlyArray<ReadyRef>, inFlight: ReadonlySet<TaskId>, limit: number): void {
    for (const ref of page) {
      if (!inFlight.has(ref.id) && !this.ids.has(ref.id)) {
        this.heap.push(ref)
        this.ids.add(ref.id)
      }
    }
    // A sorted array is a valid min-heap.
    this.heap.sort(Rank.compare)
    this.worstCache = undefined
    const cut = this.heap.length > this.capacity
    let floor = page.length < limit ? undefined : page[page.length - 1]
    if (cut) {
      const dropped = this.heap.splice(this.capacity)
      for (const ref of dropped) this.ids.delete(ref.id)
      if (floor === undefined || Rank.compare(dropped[0]!, floor) < 0) floor = dropped[0]
    }
    this.exhaustive = page.length < limit && !cut
    this.floor = this.exhaustive ? undefined : floor
  }

  take(): ReadyRef | undefined {
    const top = this.heap[0]
    if (top === undefined) return undefined
    this.removeAt(0)
    return top
  }

  /** Drops every entry (e.g. after the store changed under us); the next refill rebuilds it. */
  clear(): void {
    this.worstCache = undefined
    this.heap.length = 0
    this.ids.clear()
    this.markStale()
  }

  private worst(): ReadyRef {
    if (this.worstCache === undefined) this.worstCache = this.heap[this.worstIndex()]
    return this.worstCache!
  }

  private push(ref: ReadyRef): void {
    if (this.worstCache !== undefined && Rank.compare(ref, this.worstCache) > 0) this.worstCache = ref
    this.heap.push(ref)
    this.ids.add(ref.id)
    this.up(this.heap.length - 1)
  }

  private removeAt(i: number): void {
    const removed = this.heap[i]!
    this.ids.delete(removed.id)
    if (removed === this.worstCache || this.heap.length === 1) this.worstCache = undefined
    const last = this.heap.pop()!
    if (i < this.heap.length) {
      this.heap[i] = last
      this.down(i)
      this.up(i)
    }
  }

  private worstIndex(): number {
    // The worst element is a leaf: scan the second half of the array.
    let worst = Math.floor(this.heap.length / 2)
    for (let i = worst + 1; i < this.heap.length; i++) {
      if (Rank.compare(this.heap[i]!, this.heap[worst]!) > 0) worst = i
    }
    return worst
  }

  private up(i: number): void {
    const heap = this.heap
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (Rank.compare(heap[i]!, heap[parent]!) >= 0) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  private down(i: number): void {
    const heap = this.heap
    const n = heap.length
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      if (l < n && Rank.compare(heap[l]!, heap[best]!) < 0) best = l
      if (r < n && Rank.compare(heap[r]!, heap[best]!) < 0) best = r
      if (best === i) return
      ;[heap[i], heap[best]] = [heap[best]!, heap[i]!]
      i = best
    }
  }
}
