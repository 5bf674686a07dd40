import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { layerPostgres } from "../../../../src/services/store/TaskStorePostgres.js"
import { freshDatabase } from "../../../support/postgres.js"
import { lifecycleSuite } from "../LifecycleStoreSuite.js"
import { suite } from "../TaskStoreSuite.js"

// The same contract suites as SQLite's, on the real PostgreSQL server: a database of its own
// for every test.

const postgres = Layer.unwrapScoped(Effect.map(freshDatabase, (url) => layerPostgres({ url, maxConnections: 4 })))

suite("postgres", postgres)
lifecycleSuite("postgres", postgres)
