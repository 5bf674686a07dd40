/**
 * A stand-in for an encoder such as ffmpeg, so the media example runs anywhere: `--segment`
 * "encodes" one segment of the input, printing `progress N` lines as it goes; `--concat` joins
 * segments into one file. The work is real (hashing), the output files are real.
 *
 *   node dist/examples/media/encoder.js --segment IN INDEX OF OUT
 *   node dist/examples/media/encoder.js --concat OUT SEGMENT...
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"

const [mode, ...args] = process.argv.slice(2)

if (mode === "--segment") {
  const [input = "", index = "0", of = "1", output = ""] = args
  let digest = `${input}#${index}/${of}`
  for (let step = 1; step <= 10; step++) {
    for (let i = 0; i < 2000; i++) digest = createHash("sha256").update(digest).digest("hex")
    console.log(`progress ${step * 10}`)
  }
  fs.writeFileSync(output, `segment ${index} of ${input}: ${digest}\n`)
} else if (mode === "--concat") {
  const [output = "", ...segments] = args
  fs.writeFileSync(output, segments.map((s) => fs.readFileSync(s, "utf8")).join(""))
  console.log(`concatenated ${segments.length} segments into ${output}`)
} else {
  console.error("usage: encoder.js --segment IN INDEX OF OUT | --concat OUT SEGMENT...")
  process.exit(2)
}
