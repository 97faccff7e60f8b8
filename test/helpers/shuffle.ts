/**
 * mulberry32: a small seeded generator, so "many orders" are the same orders on every run and a
 * failing order can be replayed from its seed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A Fisher-Yates shuffle of a copy. `order` is a seed, or a generator already in use, so one seed
 * can drive several shuffles and other draws of the same run.
 */
export function shuffled<T>(items: readonly T[], order: number | (() => number)): T[] {
  const random = typeof order === 'number' ? seededRandom(order) : order
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j]!, copy[i]!]
  }
  return copy
}
