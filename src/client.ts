/**
 * The typed client of a troupe server, for another process (`troupe/client`): the same methods
 * as TaskQueue over the HTTP API. It loads none of the runtime (no store, no threads).
 */
export * as TroupeClient from "./runtime/client/TroupeClient.js"
export * as Api from "./runtime/api/Api.js"
export * as TaskDefinition from "./domain/TaskDefinition.js"
export * as TaskErrors from "./domain/TaskErrors.js"
export * as TaskEvent from "./domain/TaskEvent.js"
export * as TaskId from "./domain/TaskId.js"
export { Task } from "./domain/Task.js"
