/** Deterministic CPU work: `iterations` rounds of integer hashing. */
export const spin = (iterations: number, seed = 1): number => {
  let h = seed | 0
  for (let i = 0; i < iterations; i++) h = (Math.imul(h ^ (h >>> 15), 2246822519) + i) | 0
  return h >>> 0
}
