// The baseline: a bare worker_threads worker, one postMessage per task.
import { parentPort } from "node:worker_threads"
import { spin } from "./spin.js"

parentPort?.on("message", (message: { readonly id: number; readonly iterations: number }) => {
  spin(message.iterations, message.id)
  parentPort?.postMessage(message.id)
})
