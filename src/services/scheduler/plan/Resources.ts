import type { ReadyRef } from "../../../domain/Task.js"
import type { Books } from "./Books.js"
import { offer } from "./Books.js"

// ---------------------------------------------------------------------------------------------
// Resources: a task that declares them runs alone under a permit; the best waiting task holds a
// reservation so smaller tasks do not starve it (see ResourceGovernor)
// ---------------------------------------------------------------------------------------------

/** What must stay free while `top` asks for a permit: the reservation of a better waiting task. */
export const heldBack = <E>(books: Books<E>, top: ReadyRef) => {
  const reserved = books.reserved
  return reserved !== undefined && reserved.id !== top.id ? reserved.resources : null
}

/** The permit was refused: the task waits aside; the best such task holds the reservation. */
export const waitForResources = <E>(books: Books<E>, top: ReadyRef) => {
  books.mailbox.take()
  books.waitingForResources.push(top)
  if (books.reserved === undefined) books.reserved = top
}

/** The permit was granted: a reservation it held is fulfilled. */
export const permitted = <E>(books: Books<E>, top: ReadyRef) => {
  if (books.reserved?.id === top.id) books.reserved = undefined
}

/** Resources were released: the tasks that waited for them try again, best first. */
export const resourcesReleased = <E>(books: Books<E>) => {
  const waiting = books.waitingForResources.splice(0)
  books.reserved = undefined
  for (const ref of waiting) offer(books, ref)
  if (waiting.length > 0) books.mailbox.markStale()
}

