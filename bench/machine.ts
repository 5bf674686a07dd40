import * as os from "node:os"

/** One line naming the machine a benchmark ran on. */
export const describeMachine = (): string =>
  `${os.cpus()[0]?.model ?? "unknown cpu"} · ${os.availableParallelism()} cores · ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB · node ${process.version} · ${os.platform()} ${os.release()}`

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
