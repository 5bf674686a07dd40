/**
 * The handlers side of troupe: what a handlers module (loaded by worker threads by path)
 * imports to register its task handlers.
 *
 *     import { Handlers } from "troupe/worker"
 *     export default Handlers.make(Resize.handler((payload, ctx) => ...))
 */
export * as Handlers from "./workers/Handlers.js"
export * as TaskDefinition from "./domain/TaskDefinition.js"
export type { TaskContext } from "./domain/TaskDefinition.js"
