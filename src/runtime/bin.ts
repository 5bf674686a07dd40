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

if (process.argv[2] === "start") {
  await load(asCompiled)
} else {
  await load(bundled).catch((e: { readonly code?: unknown }) => {
    if (e.code !== "ERR_MODULE_NOT_FOUND") throw e
    return load(asCompiled)
  })
}
