import type * as Layer from "effect/Layer"
import * as TaskStoreMemory from "../services/TaskStoreMemory.js"
import type * as Handlers from "../workers/Handlers.js"
import { compose, fiberExecutors } from "./compose.js"
import type { Services, TroupeStartError } from "./compose.js"
import * as TroupeConfig from "./TroupeConfig.js"

/**
 * The deterministic test kit: the in-memory store and in-process (fiber) execution of every
 * task type, so TestClock reaches retries, delays and handlers. For an app's own tests of its
 * task flows; not for production.
 */
export const layer = (
  handlers: Handlers.Handlers,
  options: Partial<Omit<TroupeConfig.TroupeConfig, "database" | "handlersModule">> = {}
): Layer.Layer<Services, TroupeStartError> => {
  // No GPU probe (a child process) in tests unless asked for.
  const config = { ...TroupeConfig.defaults, gpu: 0, ...options, database: ":memory:", handlersModule: undefined }
  return compose(config, handlers, TaskStoreMemory.layerMemory, fiberExecutors(config, handlers))
}
