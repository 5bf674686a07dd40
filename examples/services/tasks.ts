/** The services example's task types, shared by the program and the handlers module. */
import * as Schema from "effect/Schema"
import { TaskDefinition } from "../../src/index.js"

/** Prices an order from the catalog (a SQLite file), on a worker thread with its own connection. */
export const Quote = TaskDefinition.make("services.quote", {
  payload: Schema.Struct({ order: Schema.String, items: Schema.Array(Schema.String) }),
  success: Schema.Struct({ order: Schema.String, cents: Schema.Int, connection: Schema.String })
})

/** Tells the customer, in the app's own process, with the app's mailer. */
export const Notify = TaskDefinition.make("services.notify", {
  payload: Schema.Struct({ order: Schema.String }),
  success: Schema.String,
  execution: "fiber"
})
