#!/usr/bin/env node
/**
 * The `troupe` executable. `start` runs the runtime as compiled (its worker threads load their
 * modules by path). Every other command is a client of the API and runs from one bundled file
 * (dist/cli/troupe.js, made by `npm run build`): it loads in ~0.2 s of CPU instead of ~0.7 s
 * spent importing Effect's modules one by one (docs/design.md, "CLI start time"). Without the
 * bundle (a build by tsc alone) every command runs as compiled.
 */
const asCompiled = "./main.js"
const bundled = "../../cli/troupe.js"

const load = (path: string): Promise<unknown> => import(path)

// `start` wherever it stands (`troupe --log-level info start …`); a client command that merely
// has "start" as a value runs as compiled too, which only costs it the slower load.
if (process.argv.slice(2).includes("start")) {
  await load(asCompiled)
} else {
  await load(bundled).catch((e: { readonly code?: unknown }) => {
    if (e.code !== "ERR_MODULE_NOT_FOUND") throw e
    return load(asCompiled)
  })
}
