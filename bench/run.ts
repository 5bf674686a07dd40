/** `npm run bench`: every benchmark in one run, figures and machine printed, nothing asserted. */

const suites = ["./store.js", "./workers.js", "./e2e.js", "./priority.js", "./await.js", "./lifecycle.js", "./resources.js", "./rpc.js", "./events.js", "./postgres.js", "./telemetry.js", "./takeover.js", "./cli.js", "./schedules.js", "./rateLimits.js", "./dashboard.js"]

for (const suite of suites) {
  const mod = (await import(new URL(suite, import.meta.url).href)) as { run?: () => Promise<unknown> }
  if (mod.run === undefined) throw new Error(`${suite} exports no run()`)
  await mod.run()
}
