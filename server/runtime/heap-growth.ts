/**
 * How far V8 lets the heap grow past what survived the last full collection before collecting
 * again. On a machine with plenty of memory its default goes up to 4×: the console's live data
 * for 10,000 nodes is about 70 MB, but every tick also renders megabytes of HTML and JSON that
 * die young, so the heap sat at 300-500 MB between collections (RSS median 445 MB). At 1.3× the
 * full collections come more often; they run mostly concurrently with the loop, and RSS stayed
 * under 300 MB with the same requests answered as fast (BENCHMARKS.md, console memory).
 *
 * Set by `zenith start` for its own process only; a `--heap-growing-percent` given to node
 * (command line or NODE_OPTIONS) is left as it is. V8 reads this flag each time it sizes the heap
 * after a collection, so setting it once the process runs takes effect from the next one.
 */
import { setFlagsFromString } from 'node:v8'

export const HEAP_GROWING_PERCENT = 30

export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const chosen = (text: string) => /--heap[-_]growing[-_]percent/.test(text)
  if (execArgv.some(chosen) || chosen(nodeOptions)) return false
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
  return true
}
