/**
 * Aging, as a static rank. A task becomes ready at `readyAt` with priority `p`; its rank is
 *
 *     rank = readyAt − p × agingStepMs
 *
 * and the scheduler runs the lowest rank first (then the lowest sequence). Two tasks of the
 * same priority keep FIFO order; a higher priority wins by `agingStepMs` per priority point of
 * difference. So a task of priority p is never passed by a task of priority P > p that became
 * ready more than (P − p) × agingStepMs after it: under a continuous stream of higher-priority
 * work, a low-priority task waits at most (P − p) × agingStepMs, plus the time to drain the
 * work that outranked it when it arrived. With the defaults (step 30 s, low = 0, normal = 10,
 * critical = 30) a critical task passes normal tasks up to 10 minutes older, and a low task
 * outranks any critical task that arrives more than 15 minutes after it.
 * Because the rank never changes while a task waits, the ready queue stays a plain heap.
 */
export const rank = (readyAt: number, priority: number, agingStepMs: number): number =>
  readyAt - priority * agingStepMs

/** Orders ready tasks: lower rank first, then submission order. */
export const compare = (
  a: { readonly rank: number; readonly seq: number },
  b: { readonly rank: number; readonly seq: number }
): number => (a.rank - b.rank) || (a.seq - b.seq)
