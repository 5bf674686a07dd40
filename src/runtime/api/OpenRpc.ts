import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import * as Api from "./Api.js"
import * as JsonRpc from "./JsonRpc.js"

// The OpenRPC document (https://spec.open-rpc.org) of the JSON-RPC API, generated from the one
// API definition (api/Api.ts): params by name with their JSON Schemas, the result's Schema, the
// application errors each method may answer with, shared schemas under components. Served at
// GET /openrpc.json, so clients in any language can be generated or checked against it.

type Json = JSONSchema.JsonSchema7

const definitionPath = "#/components/schemas/"

/** The standard errors every method may answer with. */
const standardErrors = [
  { code: JsonRpc.codes.invalidParams, message: "invalid params: one line per problem, with its path and what was expected" },
  { code: JsonRpc.codes.internalError, message: "internal error" }
]

/** The params of a method by name: an object's properties, or (a union) every member's, each one optional. */
const byName = (schema: Json): ReadonlyArray<{ readonly name: string; readonly required: boolean; readonly schema: Json }> => {
  if ("properties" in schema) {
    const required = new Set(schema.required)
    return Object.entries(schema.properties).map(([name, s]) => ({ name, required: required.has(name), schema: s }))
  }
  if ("anyOf" in schema) return schema.anyOf.flatMap((member) => "properties" in member ? byName(member).map((p) => ({ ...p, required: false })) : [])
  return []
}

/** The application code and tag of a typed error Schema (a TaggedError class). */
const errorOf = (schema: Schema.Schema.Any) => {
  const tag = (schema as unknown as { readonly _tag: string })._tag
  return { code: JsonRpc.applicationCodes[tag] ?? JsonRpc.codes.internalError, message: tag, data: { _tag: tag } }
}

export const document = (version: string) => {
  const definitions: Record<string, Json> = {}
  const schemaOf = (schema: Schema.Schema.Any): Json => JSONSchema.fromAST(schema.ast, { definitions, definitionPath })
  const methods = Api.methods.map((name) => {
    const m = Api.api[name]
    const params = byName(schemaOf(m.params))
    const exclusive = name === "pause" || name === "resume" ? " Give exactly one of id, type or queue." : ""
    return {
      name,
      summary: m.summary + exclusive,
      paramStructure: "by-name",
      params,
      result: { name: `${name}Result`, schema: schemaOf(m.success) },
      errors: [...m.errors.map(errorOf), ...standardErrors]
    }
  })
  return {
    openrpc: "1.3.2",
    info: {
      title: "troupe",
      version,
      description:
        "JSON-RPC 2.0 over POST /rpc (single calls or batches; ids are echoed as sent). Typed errors carry the error, encoded, in error.data. With a token, send Authorization: Bearer <token>."
    },
    servers: [{ name: "this server", url: "/rpc" }],
    methods,
    components: { schemas: definitions },
    // Not OpenRPC: the Server-Sent Event streams beside it, with their items' schemas.
    "x-streams": Object.fromEntries(Object.entries(Api.streams).map(([name, s]) => [name, { path: s.path, item: schemaOf(s.item), resume: s.resume }]))
  }
}
