/** piscina's task: the same CPU work as troupe's Spin handler (bench/spin.ts). */
import { spin } from "../../dist/bench/spin.js"

export default ({ iterations }) => spin(iterations)
