import * as fs from "node:fs"
import { chromium } from "playwright-core"
import type { Browser } from "playwright-core"

// A real browser for the dashboard's tests: Debian's Chromium (`.ci/run` installs the package
// when it is missing), headless, with nothing that reaches beyond this machine.

export const chromiumPath = process.env["TROUPE_CHROMIUM"] ?? "/usr/bin/chromium"

/** Launches Chromium (on a fresh temporary profile, which Playwright removes); `close` stops it. */
export const launch = async (): Promise<{ readonly browser: Browser; readonly close: () => Promise<void> }> => {
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (or set TROUPE_CHROMIUM)`)
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--disable-quic"
    ]
  })
  return { browser, close: () => browser.close() }
}
